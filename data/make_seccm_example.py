"""Write the bundled SECCM example of data/ (reproducible: seeded).

Run from anywhere:  python data/make_seccm_example.py

Files written next to this script (together < 1 MB):

- ``seccm_example.nc``: a simulated hopping-mode SECCM scan
  (:func:`nbtools.simulate.seccm_scan`): 40 x 40 landings, 2 µm apart, one
  cyclic voltammogram (3.7 -> 4.4 -> 3.7 V vs Li/Li+, 0.5 V/s, 300 samples)
  per landing over LiMn2O4-like particles (two couples near 4.00 and 4.15 V) on
  a capacitive carbon substrate, with failed landings, pixels without contact,
  noisy and saturated pixels. NetCDF-4 in the :mod:`nbtools.seccm` layout,
  current packed as 16-bit integers (step 1/16000 of the current range,
  far below the noise); ``nbtools.seccm.load`` reads it.
- ``seccm_example_truth.npz``: the true particle mask, charges and status.
- ``seccm_example_sem.png``: a synthetic "SEM image" of the same area:
  bright particles with darker rims on a grainy substrate, seen rotated by
  7 degrees, at 0.35 µm per image pixel, offset from the scan.
- ``seccm_example_sem_points.csv``: four control points (image column and row
  in px, map x and y in µm) for registering the image onto the scan.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SCAN = HERE / "seccm_example.nc"
TRUTH = HERE / "seccm_example_truth.npz"
IMAGE = HERE / "seccm_example_sem.png"
POINTS = HERE / "seccm_example_sem_points.csv"

NX = NY = 40
PITCH = 2e-6
N_SAMPLES = 300
SEED = 7
#: image (column, row) px -> map (x, y) m: 0.35 µm per px, rotated 7 degrees, offset
UM_PER_PX = 0.35
ANGLE_DEG = 7.0
OFFSET_M = (-8e-6, 90e-6)
IMAGE_SIZE = (300, 300)  # rows, columns


def image_affine():
    """3 x 3 matrix: image (column, row, 1) -> map (x, y, 1) in metres (rows grow downwards)."""
    a = np.deg2rad(ANGLE_DEG)
    s = UM_PER_PX * 1e-6
    R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    M = np.eye(3)
    M[:2, :2] = s * R @ np.array([[1.0, 0.0], [0.0, -1.0]])  # flip: image rows go down, map y goes up
    M[:2, 2] = OFFSET_M
    return M


def make_scan():
    from nbtools.simulate import seccm_scan

    return seccm_scan(NX, NY, N_SAMPLES, seed=SEED, pitch=PITCH)


def sem_image(truth, rng):
    """Greyscale uint8 image rendered from the true particle activity through the known affine."""
    from scipy import ndimage

    rows, cols = IMAGE_SIZE
    M = image_affine()
    c, r = np.meshgrid(np.arange(cols, dtype=float), np.arange(rows, dtype=float))
    x = M[0, 0] * c + M[0, 1] * r + M[0, 2]
    y = M[1, 0] * c + M[1, 1] * r + M[1, 2]
    gx, gy = x / PITCH, y / PITCH  # fractional grid column and row
    act = ndimage.gaussian_filter(truth["activity"].astype(float), 0.6)
    height = ndimage.map_coordinates(act, [gy, gx], order=1, mode="constant", cval=0.0)
    part = height > 0.12
    edge = part & ~ndimage.binary_erosion(part, iterations=2)
    img = 60 + 120 * np.clip(height, 0, 1) + 50 * part - 45 * edge
    img += ndimage.gaussian_filter(rng.standard_normal(img.shape), 1.0) * 18  # grain
    img += rng.standard_normal(img.shape) * 6  # detector noise
    return np.clip(img, 0, 255).astype(np.uint8)


def control_points():
    """Four image points (px) and their map positions (m), exactly from the affine."""
    rows, cols = IMAGE_SIZE
    src = np.array([[40.0, 30.0], [260.0, 45.0], [50.0, 250.0], [240.0, 270.0]])
    M = image_affine()
    dst = src @ M[:2, :2].T + M[:2, 2]
    return src, dst


def main():
    from PIL import Image

    import nbtools.seccm as seccm

    ds, truth = make_scan()
    rng = np.random.default_rng(SEED + 1)
    enc = {
        "current": {"dtype": "int16", "scale_factor": float(ds.attrs["current_range"]) / 16000.0,
                    "_FillValue": np.int16(-32768), "zlib": True, "complevel": 9, "shuffle": True},
        "potential": {"zlib": True},
        "time": {"zlib": True},
    }
    tmp = SCAN.with_name(SCAN.name + ".part")
    ds.attrs["note"] = "bundled example written by data/make_seccm_example.py"
    ds.to_netcdf(tmp, engine="h5netcdf", encoding=enc)
    tmp.replace(SCAN)
    seccm.load(SCAN)  # must read back
    np.savez_compressed(TRUTH, particle=truth["particle"], activity=truth["activity"], status=truth["status"],
                        charge=truth["charge"], charge_map=truth["charge_map"], k_s=truth["k_s"])
    Image.fromarray(sem_image(truth, rng), mode="L").save(IMAGE, optimize=True)
    src, dst = control_points()
    with open(POINTS, "w", encoding="utf-8") as fh:
        fh.write("column_px,row_px,x_um,y_um\n")
        for (c, r), (x, y) in zip(src, dst):
            fh.write(f"{c:g},{r:g},{x * 1e6:.4f},{y * 1e6:.4f}\n")
    for p in (SCAN, TRUTH, IMAGE, POINTS):
        print(f"{p.name}: {p.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
