import Foundation

/// The CT window a preview shows, in the image's units (HU): values below level - width/2 are black, above
/// level + width/2 white.
public struct DisplayWindow: Equatable {
    public var width: Double
    public var level: Double

    public init(width: Double, level: Double) {
        self.width = width
        self.level = level
    }

    public static let abdomen = DisplayWindow(width: 400, level: 40)

    func grey(_ value: Float) -> UInt8 {
        let fraction = (Double(value) - (level - width / 2)) / width
        return UInt8((min(max(fraction, 0), 1) * 255).rounded())
    }
}

/// A rendered preview and where its views lie in it.
public struct Preview {
    public let image: RGBImage

    /// One slice view: its category's label, plane, pixel rectangle in `image` and scale.
    public struct View {
        public let label: Int
        public let plane: Plane
        public let x: Int, y: Int, width: Int, height: Int
        public let millimetresPerPixel: Double
    }

    public let views: [View]
}

/// A preview of a segmentation: for each category a row of axial, coronal and sagittal slices through its
/// centroid, with every category's mask drawn as a translucent fill and a solid outline, and a legend.
///
/// Slices are resampled in RAS millimetres at one scale for all views, so voxel spacing does not squash the
/// coronal and sagittal views, and shown in the radiological convention: the patient's right on the left,
/// anterior (axial) or superior (coronal, sagittal) at the top, anterior on the left in sagittal views.
public enum PreviewRenderer {
    /// Pixels along the longest side of the volume in every view.
    static let panelSize = 256
    static let fillOpacity = 0.35

    /// `masks[n]` belongs to `labels.entries[n]`; each is in stored order on `image`'s grid, non-zero inside.
    public static func render(image: NIfTIImage, masks: [[UInt8]], labels: LabelTable, window: DisplayWindow,
                              title: String) throws -> Preview {
        guard masks.count == labels.entries.count, masks.allSatisfy({ $0.count == image.data.count }) else {
            throw PipelineError("preview: \(masks.count) masks for \(labels.entries.count) labels on \(image.data.count) voxels")
        }
        guard let sampler = VolumeSampler(image: image) else {
            throw PipelineError("the image's affine is singular; cannot draw a preview")
        }
        let grid = DisplayGrid(sampler: sampler, longestSide: panelSize)
        let centroids = masks.map { centroid(of: $0, dims: image.header.dims).map(sampler.toWorld.apply) }
        let layout = Layout(grid: grid, labels: labels, hasVoxels: centroids.map { $0 != nil },
                            title: "\(title)   window \(format(window.width))/\(format(window.level))")

        var canvas = RGBImage(width: layout.width, height: layout.height, background: Style.background)
        var views: [Preview.View] = []
        BitmapFont.draw(layout.title, x: Style.margin, y: Style.margin, scale: 2, colour: Style.text, on: &canvas)
        for (row, entry) in labels.entries.enumerated() {
            let top = layout.rowTops[row]
            canvas.fill(x: Style.margin, y: top, width: 14, height: 14, with: entry.colour)
            let header = centroids[row] == nil ? "\(entry.name): no voxels" : entry.name
            BitmapFont.draw(header, x: Style.margin + 20, y: top, scale: 2, colour: Style.text, on: &canvas)
            guard let centre = centroids[row] else { continue }
            for (plane, offset) in zip(Plane.allCases, layout.viewOffsets) {
                let (x, y) = (Style.margin + offset.x, top + Style.lineHeight + 4 + offset.y)
                drawPanel(plane, through: centre, at: (x, y), grid: grid, sampler: sampler, masks: masks,
                          labels: labels, window: window, on: &canvas)
                let size = grid.size(plane)
                views.append(Preview.View(label: entry.label, plane: plane, x: x, y: y, width: size.width,
                                          height: size.height, millimetresPerPixel: grid.millimetresPerPixel))
                let position = plane.normalAxis == 0 ? centre.x : plane.normalAxis == 1 ? centre.y : centre.z
                let caption = "\(plane.name) \(["x", "y", "z"][plane.normalAxis])=\(format(position)) mm"
                BitmapFont.draw(caption, x: x, y: y + size.height + 4, scale: 1, colour: Style.caption, on: &canvas)
            }
        }
        for item in layout.legend {
            canvas.fill(x: item.x, y: item.y, width: 14, height: 14, with: item.colour)
            BitmapFont.draw(item.name, x: item.x + 20, y: item.y, scale: 2, colour: Style.text, on: &canvas)
        }
        return Preview(image: canvas, views: views)
    }

    /// One view: the windowed CT, then each mask's fill and outline, then the orientation letters.
    private static func drawPanel(_ plane: Plane, through centre: SIMD3<Double>, at origin: (x: Int, y: Int),
                                  grid: DisplayGrid, sampler: VolumeSampler, masks: [[UInt8]], labels: LabelTable,
                                  window: DisplayWindow, on canvas: inout RGBImage) {
        let (width, height) = grid.size(plane)
        var nearest = [Int](repeating: -1, count: width * height)
        for v in 0..<height {
            for u in 0..<width {
                let world = grid.world(plane, u: u, v: v, through: centre)
                let voxel = sampler.toVoxel.apply(world)
                nearest[v * width + u] = sampler.nearestIndex(voxel) ?? -1
                let grey = sampler.intensity(voxel).map(window.grey) ?? 0
                canvas.set(origin.x + u, origin.y + v, RGB(grey, grey, grey))
            }
        }
        for (mask, entry) in zip(masks, labels.entries) {
            let inside = nearest.map { $0 >= 0 && mask[$0] != 0 }
            func isInside(_ u: Int, _ v: Int) -> Bool { u >= 0 && v >= 0 && u < width && v < height && inside[v * width + u] }
            for v in 0..<height {
                for u in 0..<width where inside[v * width + u] {
                    let edge = !isInside(u - 1, v) || !isInside(u + 1, v) || !isInside(u, v - 1) || !isInside(u, v + 1)
                    if edge {
                        canvas.set(origin.x + u, origin.y + v, entry.colour)
                    } else {
                        canvas.blend(origin.x + u, origin.y + v, entry.colour, opacity: fillOpacity)
                    }
                }
            }
        }
        let letters = plane.edgeLetters
        let middleY = origin.y + height / 2 - 3
        BitmapFont.draw(letters.left, x: origin.x + 2, y: middleY, scale: 1, colour: Style.caption, on: &canvas)
        BitmapFont.draw(letters.right, x: origin.x + width - 7, y: middleY, scale: 1, colour: Style.caption, on: &canvas)
        if height >= 24 {
            BitmapFont.draw(letters.top, x: origin.x + width / 2 - 2, y: origin.y + 2, scale: 1, colour: Style.caption,
                            on: &canvas)
            BitmapFont.draw(letters.bottom, x: origin.x + width / 2 - 2, y: origin.y + height - 9, scale: 1,
                            colour: Style.caption, on: &canvas)
        }
    }

    /// Mean voxel index of a mask; nil when it is empty.
    static func centroid(of mask: [UInt8], dims: [Int]) -> SIMD3<Double>? {
        var sum = SIMD3<Double>.zero
        var count = 0
        for (v, value) in mask.enumerated() where value != 0 {
            sum += SIMD3(Double(v % dims[0]), Double((v / dims[0]) % dims[1]), Double(v / (dims[0] * dims[1])))
            count += 1
        }
        return count == 0 ? nil : sum / Double(count)
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}

/// Colours and spacing of the preview's frame.
private enum Style {
    static let background = RGB(24, 24, 24), text = RGB(230, 230, 230), caption = RGB(170, 170, 170)
    static let margin = 16, gap = 10, rowGap = 18
    /// A line of scale-2 text (18 pixels with descenders) with room below it.
    static let lineHeight = 22
    /// A scale-1 caption under a view.
    static let captionHeight = 9
}

/// Sizes and positions of the preview's parts.
private struct Layout {
    let title: String
    let width: Int, height: Int
    /// Top-left corner of the axial, coronal and sagittal views within a row's view area.
    let viewOffsets: [(x: Int, y: Int)]
    /// Height of a row's view area, captions included.
    let viewsHeight: Int
    let rowTops: [Int]
    let legend: [(x: Int, y: Int, name: String, colour: RGB)]

    init(grid: DisplayGrid, labels: LabelTable, hasVoxels: [Bool], title: String) {
        self.title = title
        let sizes = Plane.allCases.map(grid.size)
        let captioned = sizes.map { $0.height + 4 + Style.captionHeight }
        // Thin volumes give short coronal and sagittal views: stacked beside the axial view they take no extra
        // height; otherwise the three stand side by side.
        if captioned[1] + Style.gap + captioned[2] <= captioned[0] {
            let x = sizes[0].width + Style.gap
            viewOffsets = [(0, 0), (x, 0), (x, captioned[1] + Style.gap)]
            viewsHeight = captioned[0]
        } else {
            viewOffsets = [(0, 0), (sizes[0].width + Style.gap, 0), (sizes[0].width + sizes[1].width + 2 * Style.gap, 0)]
            viewsHeight = captioned.max() ?? 0
        }
        let panelsWidth = zip(viewOffsets, sizes).map { $0.x + $1.width }.max() ?? 0
        let textWidth = ([title] + labels.entries.map { $0.name + ": no voxels" })
            .map { BitmapFont.width(of: $0, scale: 2) + 20 }.max() ?? 0
        width = 2 * Style.margin + max(panelsWidth, textWidth)

        var y = Style.margin + Style.lineHeight + 8
        var tops: [Int] = []
        for voxels in hasVoxels {
            tops.append(y)
            y += Style.lineHeight + (voxels ? 4 + viewsHeight : 0) + Style.rowGap
        }
        rowTops = tops

        // The legend flows left to right and wraps at the image's width.
        var items: [(x: Int, y: Int, name: String, colour: RGB)] = []
        var x = Style.margin
        for entry in labels.entries {
            let itemWidth = 20 + BitmapFont.width(of: entry.name, scale: 2)
            if x > Style.margin && x + itemWidth > width - Style.margin {
                x = Style.margin
                y += Style.lineHeight
            }
            items.append((x, y, entry.name, entry.colour))
            x += itemWidth + 24
        }
        legend = items
        height = y + Style.lineHeight + Style.margin
    }
}
