/// What the user asks for, for one category, in zoom-out (spatial size) voxel coordinates (d, h, w).
public struct Prompt: Equatable, Sendable {
    public struct Point: Equatable, Sendable {
        public var d: Float, h: Float, w: Float
        public var positive: Bool
        public init(d: Float, h: Float, w: Float, positive: Bool) {
            self.d = d; self.h = h; self.w = w; self.positive = positive
        }
    }

    /// A category name for the text tower, e.g. "liver".
    public var text: String?
    /// Inclusive box (d1, h1, w1, d2, h2, w2).
    public var box: [Float]?
    public var points: [Point]

    public init(text: String? = nil, box: [Float]? = nil, points: [Point] = []) {
        self.text = text
        self.box = box
        self.points = points
    }

    public var isEmpty: Bool { text == nil && box == nil && points.isEmpty }

    /// Prompts with the same signature have the same number of sparse tokens and share a decoder batch.
    struct Signature: Hashable { let points: Int; let box: Bool; let text: Bool }
    var signature: Signature { Signature(points: points.count, box: box != nil, text: text != nil) }
}
