/// Conv3d and ConvTranspose3d over NCDHW tensors: the definitions the shaders are checked against.
extension CPUBackend {
    public func conv3d(_ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor, _ shape: ConvShape) throws {
        try validateConv(x, weight: weight, bias: bias, out: out, shape, transposed: false)
        let outSize = shape.convOutSize
        let (iD, iH, iW) = (shape.inSize[0], shape.inSize[1], shape.inSize[2])
        let (oD, oH, oW) = (outSize[0], outSize[1], outSize[2])
        let (kD, kH, kW) = (shape.kernel[0], shape.kernel[1], shape.kernel[2])
        let (sD, sH, sW) = (shape.stride[0], shape.stride[1], shape.stride[2])
        let (pD, pH, pW) = (shape.padding[0], shape.padding[1], shape.padding[2])
        let cin = shape.inChannels, cout = shape.outChannels
        let biasValues = bias.map { storage($0).values }
        var result = [Float](repeating: 0, count: out.count)
        storage(x).values.withUnsafeBufferPointer { xs in
            storage(weight).values.withUnsafeBufferPointer { ws in
                var o = 0
                for n in 0..<shape.batch {
                    for co in 0..<cout {
                        for od in 0..<oD { for oh in 0..<oH { for ow in 0..<oW {
                            var sum = biasValues?[co] ?? 0
                            for ci in 0..<cin {
                                let xBase = (n * cin + ci) * iD * iH * iW
                                let wBase = (co * cin + ci) * kD * kH * kW
                                for kd in 0..<kD {
                                    let id = od * sD - pD + kd
                                    if id < 0 || id >= iD { continue }
                                    for kh in 0..<kH {
                                        let ih = oh * sH - pH + kh
                                        if ih < 0 || ih >= iH { continue }
                                        for kw in 0..<kW {
                                            let iw = ow * sW - pW + kw
                                            if iw < 0 || iw >= iW { continue }
                                            sum += xs[xBase + (id * iH + ih) * iW + iw] * ws[wBase + (kd * kH + kh) * kW + kw]
                                        }
                                    }
                                }
                            }
                            result[o] = sum
                            o += 1
                        } } }
                    }
                }
            }
        }
        storage(out).values = result
    }

    /// Scatter form: each input voxel adds x · W[ci, co, k] to output voxel i·stride − padding + k.
    public func convTranspose3d(_ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor, _ shape: ConvShape) throws {
        try validateConv(x, weight: weight, bias: bias, out: out, shape, transposed: true)
        let outSize = shape.transposedOutSize
        let (iD, iH, iW) = (shape.inSize[0], shape.inSize[1], shape.inSize[2])
        let (oD, oH, oW) = (outSize[0], outSize[1], outSize[2])
        let (kD, kH, kW) = (shape.kernel[0], shape.kernel[1], shape.kernel[2])
        let (sD, sH, sW) = (shape.stride[0], shape.stride[1], shape.stride[2])
        let (pD, pH, pW) = (shape.padding[0], shape.padding[1], shape.padding[2])
        let cin = shape.inChannels, cout = shape.outChannels
        let outVolume = oD * oH * oW
        var result = [Float](repeating: 0, count: out.count)
        if let bias {
            let b = storage(bias).values
            for n in 0..<shape.batch { for co in 0..<cout {
                let base = (n * cout + co) * outVolume
                for i in 0..<outVolume { result[base + i] = b[co] }
            } }
        }
        storage(x).values.withUnsafeBufferPointer { xs in
            storage(weight).values.withUnsafeBufferPointer { ws in
                for n in 0..<shape.batch { for ci in 0..<cin {
                    for id in 0..<iD { for ih in 0..<iH { for iw in 0..<iW {
                        let v = xs[(((n * cin + ci) * iD + id) * iH + ih) * iW + iw]
                        for co in 0..<cout {
                            let wBase = (ci * cout + co) * kD * kH * kW
                            let oBase = (n * cout + co) * outVolume
                            for kd in 0..<kD {
                                let od = id * sD - pD + kd
                                if od < 0 || od >= oD { continue }
                                for kh in 0..<kH {
                                    let oh = ih * sH - pH + kh
                                    if oh < 0 || oh >= oH { continue }
                                    for kw in 0..<kW {
                                        let ow = iw * sW - pW + kw
                                        if ow < 0 || ow >= oW { continue }
                                        result[oBase + (od * oH + oh) * oW + ow] += v * ws[wBase + (kd * kH + kh) * kW + kw]
                                    }
                                }
                            }
                        }
                    } } }
                } }
            }
        }
        storage(out).values = result
    }
}

/// Checks the sizes of a (transposed) convolution's operands; shared by both backends.
func validateConv(_ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor, _ shape: ConvShape, transposed: Bool) throws {
    let name = transposed ? "convTranspose3d" : "conv3d"
    try require(shape.inSize.count == 3 && shape.kernel.count == 3 && shape.stride.count == 3 && shape.padding.count == 3,
                "\(name): inSize, kernel, stride and padding need 3 values each")
    try require(shape.kernel.allSatisfy { $0 > 0 } && shape.stride.allSatisfy { $0 > 0 } && shape.padding.allSatisfy { $0 >= 0 },
                "\(name): kernel and stride must be positive, padding non-negative")
    let outSize = transposed ? shape.transposedOutSize : shape.convOutSize
    try require(outSize.allSatisfy { $0 > 0 }, "\(name): output size \(outSize) is empty")
    let kernelVolume = shape.kernel.reduce(1, *)
    try require(x.count == shape.batch * shape.inChannels * shape.inSize.reduce(1, *),
                "\(name): x has \(x.count) elements, shape says \(shape.batch)x\(shape.inChannels)x\(shape.inSize)")
    try require(weight.count == shape.inChannels * shape.outChannels * kernelVolume,
                "\(name): weight has \(weight.count) elements, expected \(shape.inChannels * shape.outChannels * kernelVolume)")
    try require(bias == nil || bias?.count == shape.outChannels, "\(name): bias must have \(shape.outChannels) elements")
    try require(out.count == shape.batch * shape.outChannels * outSize.reduce(1, *),
                "\(name): out has \(out.count) elements, expected \(shape.batch)x\(shape.outChannels)x\(outSize)")
}
