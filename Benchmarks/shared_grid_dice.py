#!/usr/bin/env python3
"""Dice per category between `--window-grid shared` and `exact` masks, on the shared CTs.

The official-tiny fixture models predict foreground all over the crop, so every category's region of interest is
the whole crop and the two grids coincide. This script also runs a variant of the `text` fixture whose first
hypernetwork's last bias is shifted (SHIFTS), which shrinks the foreground differently per category, so the
regions differ and the shared grid shows its effect. Standard library only.

Usage: Benchmarks/shared_grid_dice.py [SEGVOL_BINARY]   (from the repository root; default .build/debug/segvol)
"""
import array
import gzip
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared")
FIXTURE = os.path.join(SHARED, "fixtures", "official-tiny", "text")
CTS = ["example_ct_sm.nii.gz", "example_ct.nii.gz"]
CATEGORIES = ["liver", "spleen", "right kidney", "left kidney", "aorta"]
SHIFTS = [0.0, -0.5, -1.0]
BIAS = "model.mask_decoder.output_hypernetworks_mlps.0.layers.2.bias"


def shifted_model(shift, folder):
    """The text fixture with `shift` added to BIAS, written as a model folder."""
    os.makedirs(folder)
    for name in ["vocab.json", "tokenizer.json", "model-config.json"]:
        os.symlink(os.path.join(FIXTURE, name), os.path.join(folder, name))
    source = zipfile.ZipFile(os.path.join(FIXTURE, "pytorch_model.bin"))
    storage = storage_of(source, BIAS)
    with zipfile.ZipFile(os.path.join(folder, "pytorch_model.bin"), "w", zipfile.ZIP_STORED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.endswith("/data/" + storage):
                values = array.array("f", data)
                data = array.array("f", [v + shift for v in values]).tobytes()
            target.writestr(item, data)


def storage_of(archive, key):
    """The storage file name of tensor `key` in a PyTorch zip checkpoint (from data.pkl, without torch)."""
    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if name == "_rebuild_tensor_v2":
                return lambda storage, *rest: storage
            if module == "collections" and name == "OrderedDict":
                return dict
            return lambda *args, **kwargs: None

        def persistent_load(self, pid):
            return pid[2]

    pkl = next(n for n in archive.namelist() if n.endswith("data.pkl"))
    return Unpickler(io.BytesIO(archive.read(pkl))).load()[key]


def mask(path):
    data = gzip.open(path).read()
    offset = int(struct.unpack("<f", data[108:112])[0])
    return data[offset:]


def dice(a, b):
    both = sum(1 for x, y in zip(a, b) if x and y)
    total = a.count(1) + b.count(1)
    return 1.0 if total == 0 else 2 * both / total


def main():
    segvol = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug/segvol")
    work = tempfile.mkdtemp(prefix="segvol-dice-")
    rows = []
    for shift in SHIFTS:
        model = os.path.join(work, f"model{shift}")
        shifted_model(shift, model)
        for ct in CTS:
            masks = {}
            for grid in ["exact", "shared"]:
                out = os.path.join(work, f"{shift}-{ct}-{grid}")
                stats = out + ".json"
                arguments = [segvol, "segment", "--model", model, "--image", os.path.join(SHARED, "data", "ct", ct),
                             "--out-dir", out, "--json", stats, "--window-grid", grid, "--quiet"]
                for name in CATEGORIES:
                    arguments += ["--text", name]
                subprocess.run(arguments, check=True)
                masks[grid] = (out, json.load(open(stats))["categories"])
            for index, name in enumerate(CATEGORIES):
                file = name.replace(" ", "_") + ".nii.gz"
                exact = mask(os.path.join(masks["exact"][0], file))
                shared = mask(os.path.join(masks["shared"][0], file))
                row = {"shift": shift, "ct": ct, "category": name, "dice": round(dice(exact, shared), 4),
                       "voxels_exact": exact.count(1), "voxels_shared": shared.count(1),
                       "windows_exact": masks["exact"][1][index]["zoom_in_windows"],
                       "windows_shared": masks["shared"][1][index]["zoom_in_windows"]}
                rows.append(row)
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
