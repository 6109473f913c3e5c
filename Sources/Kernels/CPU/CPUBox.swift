extension CPUBackend {
    public func copyBox(_ source: Tensor, size sourceSize: [Int], origin sourceOrigin: [Int], to destination: Tensor,
                        size destinationSize: [Int], origin destinationOrigin: [Int], extent: [Int], accumulate: Bool) throws {
        try validateBox(source, sourceSize, sourceOrigin, destination, destinationSize, destinationOrigin, extent)
        let src = storage(source).values
        let dst = storage(destination)
        for d in 0..<extent[0] {
            for h in 0..<extent[1] {
                for w in 0..<extent[2] {
                    let target = [destinationOrigin[0] + d, destinationOrigin[1] + h, destinationOrigin[2] + w]
                    guard let out = linearIndex(target, destinationSize) else { continue }
                    let from = [sourceOrigin[0] + d, sourceOrigin[1] + h, sourceOrigin[2] + w]
                    let value = linearIndex(from, sourceSize).map { src[$0] } ?? 0
                    dst.values[out] = accumulate ? dst.values[out] + value : value
                }
            }
        }
    }

    /// Row-major index of a (d, h, w) voxel, or nil outside the volume.
    private func linearIndex(_ p: [Int], _ size: [Int]) -> Int? {
        guard (0..<3).allSatisfy({ p[$0] >= 0 && p[$0] < size[$0] }) else { return nil }
        return (p[0] * size[1] + p[1]) * size[2] + p[2]
    }
}

/// Shared argument checks of `copyBox`.
func validateBox(_ source: Tensor, _ sourceSize: [Int], _ sourceOrigin: [Int], _ destination: Tensor,
                 _ destinationSize: [Int], _ destinationOrigin: [Int], _ extent: [Int]) throws {
    try require([sourceSize, sourceOrigin, destinationSize, destinationOrigin, extent].allSatisfy { $0.count == 3 },
                "copyBox: sizes, origins and extent need 3 values")
    try require(source.count == sourceSize.reduce(1, *) && destination.count == destinationSize.reduce(1, *),
                "copyBox: tensor sizes do not match \(sourceSize) and \(destinationSize)")
    try require(extent.allSatisfy { $0 >= 0 }, "copyBox: negative extent \(extent)")
}
