import Foundation

/// The voxel grid of a series as viewers compute it: slices sorted by Image Position projected on
/// the normal of Image Orientation, spacing from the positions, and every condition under which
/// that grid would be wrong (mixed sizes or orientations, duplicate or missing slices, unequal
/// spacing, gantry tilt) an error.
///
/// Voxel (i, j, k) is column i, row j of the k-th slice along the normal: stored order with i fastest
/// is the order of the pixels in each frame.
struct SeriesGeometry {
    /// The slices, sorted along the normal.
    let slices: [DICOMSlice]
    /// Columns, rows, slices.
    let dims: [Int]
    /// Voxel (i, j, k, 1) to LPS millimetres, as DICOM states positions.
    let affineLPS: [[Double]]

    /// Voxel to RAS millimetres (NIfTI's convention): x and y negated.
    var affineRAS: [[Double]] {
        affineLPS.enumerated().map { row, values in row < 2 ? values.map { -$0 } : values }
    }

    /// Relative tolerance on slice gaps: DS values carry about 6 significant digits, a missing slice doubles a gap.
    static let gapTolerance = 0.01
    /// Millimetres a slice may sit off the normal through the previous one before it counts as tilt.
    static let inPlaneTolerance = 0.01
    /// Allowed difference between direction cosines of different slices.
    static let orientationTolerance = 1e-4

    init(_ series: DICOMSeries, folder: URL) throws {
        let all = series.slices
        func fail(_ reason: String) -> DICOMError {
            DICOMError(folder, "series \(series.displayUID): \(reason)")
        }
        guard all.count >= 2 else { throw fail("\(all.count) slice; a 3D volume needs at least 2") }

        let sizes = Dictionary(grouping: all) { "\($0.format.columns)x\($0.format.rows)" }
        if sizes.count > 1 {
            throw fail("mixed image sizes: " + sizes.map { "\($0.key) (\($0.value.count) slices)" }.sorted().joined(separator: ", "))
        }
        let orientation = all[0].orientation, spacing = all[0].pixelSpacing
        for slice in all {
            if zip(slice.orientation, orientation).contains(where: { abs($0 - $1) > Self.orientationTolerance }) {
                throw fail("slices have different orientations (\(slice.file.lastPathComponent) differs from the first)")
            }
            if zip(slice.pixelSpacing, spacing).contains(where: { abs($0 - $1) > 1e-4 * max(1, abs($1)) }) {
                throw fail("slices have different pixel spacings (\(slice.pixelSpacing) and \(spacing))")
            }
        }
        let rowDirection = Array(orientation[0..<3]), columnDirection = Array(orientation[3..<6])
        guard abs(norm(rowDirection) - 1) < 1e-3, abs(norm(columnDirection) - 1) < 1e-3,
              abs(dot(rowDirection, columnDirection)) < 1e-3 else {
            throw fail("Image Orientation \(orientation) is not two orthogonal unit vectors")
        }
        let normal = cross(rowDirection, columnDirection)

        let sorted = all.sorted { dot($0.position, normal) < dot($1.position, normal) }
        let steps = zip(sorted, sorted.dropFirst()).map { pair in (0..<3).map { pair.1.position[$0] - pair.0.position[$0] } }
        let gaps = steps.map { dot($0, normal) }
        if let duplicate = gaps.firstIndex(where: { $0 < 1e-3 }) {
            throw fail("two slices at the same position \(sorted[duplicate].position) (several acquisitions, echoes or "
                + "time points in one series are not a volume)")
        }
        for (n, step) in steps.enumerated() {
            let inPlane = (0..<3).map { step[$0] - gaps[n] * normal[$0] }
            if norm(inPlane) > Self.inPlaneTolerance {
                throw fail(String(format: "slices shift %.3f mm in-plane from one to the next (gantry tilt or a sheared "
                    + "stack); resample the series to an orthogonal grid first", norm(inPlane)))
            }
        }
        let typical = gaps.sorted()[gaps.count / 2]
        if let irregular = gaps.firstIndex(where: { abs($0 - typical) > Self.gapTolerance * typical }) {
            let gap = gaps[irregular]
            let between = "between \(describe(sorted[irregular].position)) and \(describe(sorted[irregular + 1].position))"
            let multiple = (gap / typical).rounded()
            if multiple >= 2 && abs(gap - multiple * typical) <= Self.gapTolerance * typical {
                throw fail(String(format: "%d missing slice(s) %@: a gap of %.3f mm where the spacing is %.3f mm",
                                  Int(multiple) - 1, between, gap, typical))
            }
            throw fail(String(format: "unequal slice spacing: a gap of %.3f mm %@ where the spacing is %.3f mm", gap, between, typical))
        }

        slices = sorted
        dims = [sorted[0].format.columns, sorted[0].format.rows, sorted.count]
        let first = sorted[0].position, last = sorted[sorted.count - 1].position
        // The slice axis is the mean step from first to last, so the last slice lands where it is.
        let sliceStep = (0..<3).map { (last[$0] - first[$0]) / Double(sorted.count - 1) }
        affineLPS = (0..<3).map { r in
            [rowDirection[r] * spacing[1], columnDirection[r] * spacing[0], sliceStep[r], first[r]]
        } + [[0, 0, 0, 1]]
    }
}

private func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
private func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }
private func cross(_ a: [Double], _ b: [Double]) -> [Double] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}
private func describe(_ position: [Double]) -> String {
    "(" + position.map { String(format: "%.2f", $0) }.joined(separator: ", ") + ")"
}

extension DICOMSeries {
    /// Column, row and slice spacing in millimetres, the slice spacing from the sorted positions;
    /// throws what loading the series would throw about its geometry.
    public func voxelSpacing(folder: URL) throws -> [Double] {
        let geometry = try SeriesGeometry(self, folder: folder)
        return (0..<3).map { c in (0..<3).map { geometry.affineLPS[$0][c] * geometry.affineLPS[$0][c] }.reduce(0, +).squareRoot() }
    }
}
