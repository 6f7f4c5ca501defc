"""Physical constants (SI, CODATA 2018 / SI-2019 exact values), shared by every kinetics model."""

__all__ = ["F", "R", "KB", "E_CHARGE", "NA", "T_DEFAULT", "f_const"]

F = 96485.33212  # C mol-1
R = 8.314462618  # J mol-1 K-1
KB = 1.380649e-23  # J K-1
E_CHARGE = 1.602176634e-19  # C
NA = 6.02214076e23  # mol-1
T_DEFAULT = 298.15  # K


def f_const(T=T_DEFAULT):
    """F/(RT) in 1/V."""
    return F / (R * T)
