"""Small numeric helpers shared by the kinetics modules."""

__all__ = ["parabolic_peak"]


def parabolic_peak(xv, yv, j):
    """(x, y) of the vertex of the parabola through samples j-1, j, j+1 (sample j at the edges)."""
    if 0 < j < yv.size - 1:
        y0, y1, y2 = yv[j - 1], yv[j], yv[j + 1]
        den = y0 - 2 * y1 + y2
        if den != 0:
            d = 0.5 * (y0 - y2) / den
            if abs(d) <= 1:
                xp = xv[j] + d * (xv[j + 1] - xv[j - 1]) / 2
                return xp, y1 - 0.25 * (y0 - y2) * d
    return xv[j], yv[j]
