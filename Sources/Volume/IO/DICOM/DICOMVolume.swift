import Foundation

/// A DICOM series read as the pipeline reads a NIfTI file: the rescaled values (Hounsfield units
/// for CT) in stored order and a NIfTI header built from the series' geometry (RAS affine), plus
/// the sorted source slices a DICOM-SEG refers to.
public struct DICOMVolume {
    public let image: NIfTIImage
    public let series: DICOMSeries
    /// The slices in volume order: slice k of the volume is `slices[k]`.
    public let slices: [DICOMSlice]
    /// Worth telling the user, not worth stopping for (a series that is not CT, say).
    public let warnings: [String]

    /// Reads the series in a folder (or a multi-frame file); `seriesUID` picks one of several.
    public static func read(_ url: URL, seriesUID: String? = nil) throws -> DICOMVolume {
        let scan = try DICOMScan(url)
        let (series, warnings) = try scan.select(seriesUID)
        let geometry = try SeriesGeometry(series, folder: url)
        if let undecodable = geometry.slices.first(where: { $0.transferSyntax.pixelEncoding == .undecodable }) {
            throw DICOMError(undecodable.file, undecodable.transferSyntax.unsupportedMessage)
        }
        let data = try decode(geometry)
        let header = NIfTIHeader(dims: geometry.dims, affine: geometry.affineRAS)
        return DICOMVolume(image: NIfTIImage(header: header, data: data), series: series, slices: geometry.slices,
                           warnings: warnings)
    }

    /// Decodes every slice into its place in the volume, applying its own rescale slope and
    /// intercept; files are decoded in parallel, each parsed once however many frames it holds.
    private static func decode(_ geometry: SeriesGeometry) throws -> [Float] {
        let planeSize = geometry.dims[0] * geometry.dims[1]
        let byFile = Dictionary(grouping: geometry.slices.indices) { geometry.slices[$0].file }.map { $0 }
        var data = [Float](repeating: 0, count: planeSize * geometry.slices.count)
        var firstError: Error?
        let lock = NSLock()
        data.withUnsafeMutableBufferPointer { volume in
            let volume = volume
            DispatchQueue.concurrentPerform(iterations: byFile.count) { n in
                do {
                    let (url, indices) = byFile[n]
                    let file = try DICOMFile(url: url)
                    let format: PixelFormat
                    do { format = try PixelFormat(file.dataSet) } catch let error as DICOMParseError { throw DICOMError(url, error.reason) }
                    for k in indices {
                        let slice = geometry.slices[k]
                        guard format == slice.format else { throw DICOMError(url, "the pixel description changed between reads") }
                        let stored = try PixelData.frame(slice.frameIndex, of: file, format: format)
                        let slope = slice.rescaleSlope, intercept = slice.rescaleIntercept
                        for p in 0..<planeSize { volume[k * planeSize + p] = Float(Double(stored[p]) * slope + intercept) }
                    }
                } catch {
                    lock.lock()
                    if firstError == nil { firstError = error }
                    lock.unlock()
                }
            }
        }
        if let firstError { throw firstError }
        return data
    }
}
