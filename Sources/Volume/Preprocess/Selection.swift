/// The k-th smallest value without a sort: percentiles in preprocessing and medians in the statistics.
enum Selection {
    /// Reorders `values` so that position `k` holds the value a sort would put there,
    /// with no larger value before it and no smaller one after (Hoare's selection, median of three).
    static func select(_ values: UnsafeMutableBufferPointer<Float>, _ k: Int) {
        var low = 0, high = values.count - 1
        // Guards against quadratic behaviour on adversarial orders: past this many rounds, sort.
        var roundsLeft = 4 * (Int.bitWidth - max(values.count, 1).leadingZeroBitCount) + 8
        while high > low {
            roundsLeft -= 1
            if roundsLeft == 0 {
                var remaining = UnsafeMutableBufferPointer(rebasing: values[low...high])
                remaining.sort()
                return
            }
            let middle = low + (high - low) / 2
            if values[middle] < values[low] { values.swapAt(middle, low) }
            if values[high] < values[low] { values.swapAt(high, low) }
            if values[high] < values[middle] { values.swapAt(high, middle) }
            let pivot = values[middle]
            var i = low, j = high
            while i <= j {
                while values[i] < pivot { i += 1 }
                while values[j] > pivot { j -= 1 }
                if i <= j {
                    values.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            // Now values[low...j] <= pivot <= values[i...high], and anything between equals the pivot.
            if k <= j {
                high = j
            } else if k >= i {
                low = i
            } else {
                return
            }
        }
    }
}
