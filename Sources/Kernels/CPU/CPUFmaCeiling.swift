/// The reference for `fma_ceiling.comp`, the kernel benchmark's arithmetic probe: the same chains in the same order.
extension CPUBackend {
    public static func fmaCeilingSums(count: Int, rounds: Int) -> [Float] {
        let y: [Float] = [0.999, 0.998, 0.997, 0.996]
        return (0..<count).map { i in
            let x = Float(i % 1024) / 1024
            var acc = (0..<8).map { c in [Float](repeating: Float(c) + x, count: 4) }
            for _ in 0..<rounds {
                for _ in 0..<4 {
                    for c in 0..<8 {
                        for lane in 0..<4 { acc[c][lane] = acc[c][lane] * y[lane] + x }
                    }
                }
            }
            var total = acc[0]
            for c in 1..<8 {
                for lane in 0..<4 { total[lane] += acc[c][lane] }
            }
            return total[0] + total[1] + total[2] + total[3]
        }
    }
}
