"""Independent DICOM tools the Swift tests compare against (run in the venv of tools/python-env.sh).

  make-series SOURCE.nii.gz ROOT   write test series from a NIfTI CT with pydicom (one folder per variant)
  add-uids SOURCE_DIR TARGET_DIR   copy an anonymised series with its empty UIDs filled in
  flip SOURCE.nii.gz TARGET.nii.gz reverse the first and last axes (same world positions)
  dump IMAGE OUT.npy OUT.json      read a DICOM folder or a NIfTI file with SimpleITK: voxels (float32,
                                   i fastest) and the voxel-to-LPS geometry
  check-seg SEG.dcm MASKS_DIR DICOM_DIR
                                   read a DICOM-SEG with pydicom and highdicom, compare it with the NIfTI
                                   masks; print a JSON report
  check-codes CLASSES.json        check the SNOMED CT codes of `segvol classes --json` against pydicom's
                                   tables of DICOM PS3.16; print a JSON report
"""
import json
import os
import random
import sys

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    EnhancedCTImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)


def lps_geometry(image):
    """Voxel-to-LPS matrix (4x4, voxel index order i, j, k) of a SimpleITK image."""
    direction = np.array(image.GetDirection()).reshape(3, 3)
    matrix = np.eye(4)
    matrix[:3, :3] = direction * np.array(image.GetSpacing())
    matrix[:3, 3] = image.GetOrigin()
    return matrix


def base_dataset(study, series, frame_of_reference, modality="CT"):
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.PatientName = "Test^Phantom"
    ds.PatientID = "SEGVOL-TEST"
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.FrameOfReferenceUID = frame_of_reference
    ds.StudyDate = "20240101"
    ds.StudyTime = "120000"
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.Modality = modality
    ds.SeriesNumber = 1
    ds.SeriesDescription = "from example_ct_sm"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    return ds


def write_file(ds, path, syntax):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True, implicit_vr=syntax == ImplicitVRLittleEndian, little_endian=True)


def slices_of(source):
    """HU slices (k, j, i) and, per slice, its LPS position; row and column directions and spacings."""
    image = sitk.ReadImage(source)
    hu = sitk.GetArrayFromImage(image).astype(np.int32)
    matrix = lps_geometry(image)
    spacing = image.GetSpacing()
    row_direction = matrix[:3, 0] / spacing[0]
    column_direction = matrix[:3, 1] / spacing[1]
    positions = [matrix[:3, 3] + k * matrix[:3, 2] for k in range(hu.shape[0])]
    return hu, positions, list(row_direction) + list(column_direction), [spacing[1], spacing[0]]


def write_series(source, folder, syntax, *, shuffle=False, descending=False, mixed_rescale=False,
                 modality="CT", series=None, tilt_mm=0.0, skip_slice=None):
    """One single-frame file per slice. Mixed rescale: odd slices unsigned with slope 0.5 and
    intercept -1100, even ones signed with slope 1 and intercept 0."""
    hu, positions, orientation, pixel_spacing = slices_of(source)
    os.makedirs(folder, exist_ok=True)
    study, frame_of_reference = "1.2.826.0.1.3680043.8.498.1", "1.2.826.0.1.3680043.8.498.2"
    series = series or generate_uid()
    order = list(range(hu.shape[0]))
    if descending:
        order.reverse()
    rng = random.Random(7)
    names = [f"{n:03d}.dcm" for n in range(len(order))]
    if shuffle:
        names = [f"img{rng.getrandbits(48):012x}" for _ in order]
    for instance, k in enumerate(order):
        if k == skip_slice:
            continue
        ds = base_dataset(study, series, frame_of_reference, modality)
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = instance + 1
        position = positions[k] + np.array([tilt_mm * k, 0, 0])
        ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
        ds.PixelSpacing = [f"{v:.6f}" for v in pixel_spacing]
        ds.SliceThickness = "5"  # deliberately not the spacing: the reader must use positions
        ds.Rows, ds.Columns = hu.shape[1], hu.shape[2]
        if mixed_rescale and k % 2 == 1:
            ds.PixelRepresentation = 0
            ds.RescaleSlope, ds.RescaleIntercept = "0.5", "-1100"
            stored = ((hu[k] + 1100) * 2).astype(np.uint16)
        else:
            ds.PixelRepresentation = 1
            ds.RescaleSlope, ds.RescaleIntercept = "1", "0"
            stored = hu[k].astype(np.int16)
        ds.RescaleType = "HU"
        ds.PixelData = stored.tobytes()
        path = os.path.join(folder, names[instance])
        if syntax in (RLELossless, JPEGLSLossless, JPEG2000):
            ds.file_meta = FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            options = {"j2k_cr": [20]} if syntax == JPEG2000 else {}
            ds.compress(syntax, stored, **options)
            write_file(ds, path, syntax)
        else:
            write_file(ds, path, syntax)


def write_multiframe(source, path):
    """An Enhanced CT image: every slice a frame, positions and rescale in per-frame functional groups."""
    hu, positions, orientation, pixel_spacing = slices_of(source)
    ds = base_dataset("1.2.826.0.1.3680043.8.498.1", generate_uid(), "1.2.826.0.1.3680043.8.498.2")
    ds.SOPClassUID = EnhancedCTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.Rows, ds.Columns = hu.shape[1], hu.shape[2]
    ds.NumberOfFrames = hu.shape[0]
    ds.PixelRepresentation = 1
    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing = [f"{v:.6f}" for v in pixel_spacing]
    measures.SliceThickness = "3"
    shared.PixelMeasuresSequence = [measures]
    plane = Dataset()
    plane.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
    shared.PlaneOrientationSequence = [plane]
    ds.SharedFunctionalGroupsSequence = [shared]
    frames, stored = [], []
    order = list(range(hu.shape[0]))
    random.Random(3).shuffle(order)  # frames need not be in position order
    for k in order:
        group = Dataset()
        position = Dataset()
        position.ImagePositionPatient = [f"{v:.6f}" for v in positions[k]]
        group.PlanePositionSequence = [position]
        transform = Dataset()
        transform.RescaleSlope, transform.RescaleIntercept, transform.RescaleType = "1", str(-1000 - k), "HU"
        group.PixelValueTransformationSequence = [transform]
        frames.append(group)
        stored.append((hu[k] + 1000 + k).astype(np.int16))
    ds.PerFrameFunctionalGroupsSequence = frames
    ds.PixelData = np.stack(stored).tobytes()
    write_file(ds, path, ExplicitVRLittleEndian)


def make_series(source, root):
    write_series(source, f"{root}/explicit-shuffled", ExplicitVRLittleEndian, shuffle=True, mixed_rescale=True)
    write_series(source, f"{root}/implicit-descending", ImplicitVRLittleEndian, descending=True)
    write_series(source, f"{root}/deflated", DeflatedExplicitVRLittleEndian, mixed_rescale=True)
    write_series(source, f"{root}/rle", RLELossless, mixed_rescale=True, shuffle=True)
    write_series(source, f"{root}/jpegls", JPEGLSLossless, mixed_rescale=True)
    write_series(source, f"{root}/j2k-lossy", JPEG2000)
    os.makedirs(f"{root}/multiframe", exist_ok=True)
    write_multiframe(source, f"{root}/multiframe/enhanced-ct.dcm")
    # Bad input.
    write_series(source, f"{root}/missing-slice", ExplicitVRLittleEndian, skip_slice=12)
    write_series(source, f"{root}/gantry-tilt", ExplicitVRLittleEndian, tilt_mm=0.5)
    write_series(source, f"{root}/mr", ExplicitVRLittleEndian, modality="MR")
    write_series(source, f"{root}/two-series/a", ExplicitVRLittleEndian, series="1.2.826.0.1.3680043.8.498.10")
    write_series(source, f"{root}/two-series/b", ImplicitVRLittleEndian, series="1.2.826.0.1.3680043.8.498.11")
    write_series(source, f"{root}/truncated", ExplicitVRLittleEndian)
    victim = sorted(os.listdir(f"{root}/truncated"))[5]
    with open(f"{root}/truncated/{victim}", "r+b") as handle:
        handle.truncate(os.path.getsize(f"{root}/truncated/{victim}") - 4000)
    write_series(source, f"{root}/jpeg-baseline", ExplicitVRLittleEndian)
    for name in os.listdir(f"{root}/jpeg-baseline"):
        ds = pydicom.dcmread(f"{root}/jpeg-baseline/{name}")
        ds.PixelData = encapsulate([b"\xff\xd8\xff\xd9"])
        write_file(ds, f"{root}/jpeg-baseline/{name}", JPEGBaseline8Bit)
    os.makedirs(f"{root}/not-dicom", exist_ok=True)
    for n in range(3):
        with open(f"{root}/not-dicom/note{n}.txt", "w") as handle:
            handle.write("not an image\n" * 20)


def add_uids(source_dir, target_dir):
    """A copy of an anonymised series (the shared one has empty UIDs) with study, series and instance
    UIDs filled in; the pixel data is copied untouched."""
    os.makedirs(target_dir, exist_ok=True)
    study, series = generate_uid(), generate_uid()
    for name in sorted(os.listdir(source_dir)):
        ds = pydicom.dcmread(os.path.join(source_dir, name))
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = study, series, generate_uid()
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
        ds.PatientID = ds.get("PatientID") or "SEGVOL-TEST"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(os.path.join(target_dir, name), enforce_file_format=True)


def flip(source, target):
    """The same image with its first and last axes reversed: other voxel order, same world positions."""
    sitk.WriteImage(sitk.Flip(sitk.ReadImage(source), [True, False, True]), target)


def dump(image_path, npy_path, json_path):
    if os.path.isdir(image_path):
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(image_path))
        image = reader.Execute()
    else:
        image = sitk.ReadImage(image_path)
    np.save(npy_path, sitk.GetArrayFromImage(image).astype(np.float32))
    with open(json_path, "w") as handle:
        json.dump({"size": list(image.GetSize()), "lps": lps_geometry(image).tolist()}, handle)


def check_seg(seg_path, masks_dir, dicom_dir):
    """Reads the SEG with highdicom and pydicom and compares each segment, its frames placed by their
    source references and by their plane positions, with the NIfTI mask written beside it
    (MASKS_DIR/<label>.nii.gz, spaces as underscores)."""
    import highdicom

    seg = highdicom.seg.segread(seg_path)
    raw = pydicom.dcmread(seg_path)
    reader = sitk.ImageSeriesReader()
    files = reader.GetGDCMSeriesFileNames(dicom_dir)  # sorted along the normal, as the volume's k
    reader.SetFileNames(files)
    reference = reader.Execute()
    sources = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    positions = np.array([[float(v) for v in s.ImagePositionPatient] for s in sources])
    numbers = [int(item.SegmentNumber) for item in raw.SegmentSequence]
    by_reference = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=[s.SOPInstanceUID for s in sources], segment_numbers=numbers,
        combine_segments=False, ignore_spatial_locations=True)  # (k, rows, columns, segment)
    by_position = np.zeros_like(by_reference)
    for frame, group in enumerate(raw.PerFrameFunctionalGroupsSequence):
        position = np.array([float(v) for v in group.PlanePositionSequence[0].ImagePositionPatient])
        k = int(np.argmin(np.linalg.norm(positions - position, axis=1)))
        if np.linalg.norm(positions[k] - position) > 1e-3:
            raise SystemExit(f"frame {frame + 1} lies at no source slice")
        segment = int(group.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        by_position[k, :, :, numbers.index(segment)] = seg.pixel_array[frame]
    segments = []
    for n, item in enumerate(raw.SegmentSequence):
        mask_path = os.path.join(masks_dir, item.SegmentLabel.replace(" ", "_") + ".nii.gz")
        # The mask on the series' grid (nearest neighbour: the grids must coincide voxel for voxel).
        mask_image = sitk.Resample(sitk.ReadImage(mask_path), reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
        mask = sitk.GetArrayFromImage(mask_image) > 0  # (k, j, i)
        type_code = item.SegmentedPropertyTypeCodeSequence[0]
        modifier = type_code.get("SegmentedPropertyTypeModifierCodeSequence")
        region = item.get("AnatomicRegionSequence")
        region_modifier = region[0].get("AnatomicRegionModifierSequence") if region else None
        segments.append({
            "number": int(item.SegmentNumber), "label": item.SegmentLabel,
            "category": item.SegmentedPropertyCategoryCodeSequence[0].CodeValue,
            "type": type_code.CodeValue, "type_scheme": type_code.CodingSchemeDesignator,
            "modifier": modifier[0].CodeValue if modifier else None,
            "region": region[0].CodeValue if region else None,
            "region_modifier": region_modifier[0].CodeValue if region_modifier else None,
            "algorithm": item.SegmentationAlgorithmIdentificationSequence[0].AlgorithmName,
            "algorithm_version": item.SegmentationAlgorithmIdentificationSequence[0].AlgorithmVersion,
            "voxels": int(mask.sum()),
            "mismatch_by_reference": int((by_reference[..., n].astype(bool) != mask).sum()),
            "mismatch_by_position": int((by_position[..., n].astype(bool) != mask).sum()),
            "frames": int(sum(int(g.SegmentIdentificationSequence[0].ReferencedSegmentNumber) == item.SegmentNumber
                              for g in raw.PerFrameFunctionalGroupsSequence)),
            "slices_present": int(mask.any(axis=(1, 2)).sum()),
        })
    report = {
        "segments": segments,
        "empty_frames": int(sum(not seg.pixel_array[f].any() for f in range(int(raw.NumberOfFrames)))),
        "same_study": raw.StudyInstanceUID == sources[0].StudyInstanceUID,
        "same_frame_of_reference": raw.FrameOfReferenceUID == sources[0].FrameOfReferenceUID,
        "same_patient": raw.PatientID == sources[0].PatientID,
        "referenced_series": raw.ReferencedSeriesSequence[0].SeriesInstanceUID == sources[0].SeriesInstanceUID,
        "referenced_instances": len(raw.ReferencedSeriesSequence[0].ReferencedInstanceSequence),
        "source_instances": len(sources),
    }
    print(json.dumps(report))


def cid_codes(cid):
    """(value, meaning) pairs of a DICOM context group, from pydicom's rendering of PS3.16."""
    from pydicom.sr.codedict import codes
    group = getattr(codes, f"cid{cid}")
    return {(getattr(group, name).value, getattr(group, name).meaning) for name in group.dir()}


def check_codes(classes_path):
    """Each category's coding against DICOM: its property category in CID 7150 and its sides in CID 244 exactly;
    a type that CID 7151 lists, in CID 7151's part for that category; a type or region that DICOM lists, with a
    meaning holding every word of one of DICOM's meanings for that code (it may add words: "Urinary bladder")."""
    from pydicom.sr.codedict import codes
    meanings = {}
    for name in codes.SCT.dir():
        try:
            code = getattr(codes.SCT, name)
        except Exception:  # a keyword naming several codes
            continue
        meanings.setdefault(code.value, set()).add(code.meaning.lower())
    categories, sides = cid_codes(7150), cid_codes(244)
    property_types = {value for value, _ in cid_codes(7151)}
    part_for_category = {"91723000": 7192, "49755003": 7194, "85756007": 7191}
    types_by_part = {part: {value for value, _ in cid_codes(part)} for part in part_for_category.values()}
    problems, coded, in_cid7151, meanings_checked = [], 0, 0, 0
    for entry in json.load(open(classes_path)):
        coding = entry.get("coding")
        if coding is None:
            continue
        coded += 1
        name = entry["name"]
        pair = lambda concept: (concept["value"], concept["meaning"])
        if pair(coding["category"]) not in categories:
            problems.append(f"{name}: category {pair(coding['category'])} is not in CID 7150")
        for key in ("type_modifier", "region_modifier"):
            if key in coding and pair(coding[key]) not in sides:
                problems.append(f"{name}: {key} {pair(coding[key])} is not in CID 244")
        type_value = coding["type"]["value"]
        if type_value in property_types:
            in_cid7151 += 1
            part = part_for_category.get(coding["category"]["value"])
            if part is None or type_value not in types_by_part[part]:
                problems.append(f"{name}: type {type_value} is not in CID {part}, the part of CID 7151 for its category")
        for key in ("type", "region"):
            concept = coding.get(key)
            if concept is None or concept["value"] not in meanings:
                continue
            meanings_checked += 1
            words = set(concept["meaning"].lower().split())
            if not any(set(known.split()) <= words for known in meanings[concept["value"]]):
                problems.append(f"{name}: {key} {concept['value']} means {sorted(meanings[concept['value']])} in DICOM, "
                                f"not {concept['meaning']!r}")
    print(json.dumps({"coded": coded, "types_in_cid7151": in_cid7151, "meanings_checked": meanings_checked,
                      "problems": problems}))


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    commands = {"make-series": make_series, "add-uids": add_uids, "flip": flip, "dump": dump, "check-seg": check_seg,
                "check-codes": check_codes}
    commands[command](*arguments)
