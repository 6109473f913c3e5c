"""Reference statistics for `segvol segment --statistics`: numpy and nibabel, written independently of the engine.

Usage: statistics_reference.py CT.nii.gz MASK.nii.gz [MASK.nii.gz ...]; prints one JSON object per mask, in order.
"""
import json
import sys

import nibabel
import numpy

ct = nibabel.load(sys.argv[1])
hu = ct.get_fdata(dtype=numpy.float64)  # scl_slope and scl_inter applied
affine = ct.affine
results = []
for path in sys.argv[2:]:
    mask = numpy.asarray(nibabel.load(path).dataobj) != 0
    indices = numpy.argwhere(mask)  # (i, j, k) rows
    values = hu[mask]
    centroid = indices.mean(axis=0)
    lower, upper = indices.min(axis=0), indices.max(axis=0)
    corners = numpy.array([[x, y, z, 1.0] for x in (lower[0], upper[0]) for y in (lower[1], upper[1])
                           for z in (lower[2], upper[2])])
    corners_ras = (affine @ corners.T).T[:, :3]
    centroid_ras = (affine @ numpy.append(centroid, 1.0))[:3]
    spacing = numpy.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    results.append({
        "voxels": int(mask.sum()),
        "volume_ml": float(mask.sum() * abs(numpy.linalg.det(affine[:3, :3])) / 1000),
        "hu": {"mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()),
               "median": float(numpy.median(values)), "max": float(values.max())},
        "bounding_box_voxels": [int(v) for v in list(lower) + list(upper)],
        "bounding_box_size_mm": [float(v) for v in (upper - lower + 1) * spacing],
        "bounding_box_ras": [float(v) for v in list(corners_ras.min(axis=0)) + list(corners_ras.max(axis=0))],
        "centroid_voxels": [float(v) for v in centroid],
        "centroid_ras": [float(v) for v in centroid_ras],
        "centroid_lps": [float(-centroid_ras[0]), float(-centroid_ras[1]), float(centroid_ras[2])],
    })
print(json.dumps(results))
