import CShaderc
import Foundation

/// GLSL -> SPIR-V with shaderc (linked statically), cached on disk by source, defines and device.
final class ShaderCompiler {
    private let compiler: shaderc_compiler_t
    private let cacheDirectory: URL?
    private let deviceKey: String

    init(deviceKey: String) throws {
        guard let compiler = shaderc_compiler_initialize() else {
            throw VulkanError.unsupported("shaderc_compiler_initialize failed")
        }
        self.compiler = compiler
        self.deviceKey = deviceKey
        cacheDirectory = ShaderCompiler.makeCacheDirectory()
    }

    deinit { shaderc_compiler_release(compiler) }

    /// `$SEGVOL_CACHE_DIR`, else `$XDG_CACHE_HOME/segvol/spirv`, else `~/.cache/segvol/spirv`; nil if none is writable.
    private static func makeCacheDirectory() -> URL? {
        let environment = ProcessInfo.processInfo.environment
        let base: URL
        if let dir = environment["SEGVOL_CACHE_DIR"], !dir.isEmpty {
            base = URL(fileURLWithPath: dir)
        } else if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            base = URL(fileURLWithPath: xdg).appendingPathComponent("segvol/spirv")
        } else if let home = environment["HOME"], !home.isEmpty {
            base = URL(fileURLWithPath: home).appendingPathComponent(".cache/segvol/spirv")
        } else {
            return nil
        }
        do {
            try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
            return base
        } catch {
            return nil
        }
    }

    /// `optimize: false` skips shaderc's SPIR-V optimizer, which takes tens of seconds on large unrolled kernels
    /// while the driver's compiler (LLVM in lavapipe) optimizes them as well.
    func compile(name: String, source: String, defines: [(String, String)], optimize: Bool = true) throws -> [UInt32] {
        let defineText = defines.map { "\($0.0)=\($0.1)" }.joined(separator: ";")
        let key = stableHash(["v1", deviceKey, name, defineText, optimize ? "" : "O0", source].joined(separator: "\u{1}"))
        let cached = cacheDirectory?.appendingPathComponent("\(name)-\(key).spv")
        if let cached, let data = try? Data(contentsOf: cached), data.count % 4 == 0, data.count > 0 {
            return data.withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
        }
        let words = try compileUncached(name: name, source: source, defines: defines, optimize: optimize)
        if let cached {
            // Temporary file then rename, so a concurrent reader never sees half a file.
            let temporary = cached.appendingPathExtension("tmp\(getpid())")
            let data = words.withUnsafeBytes { Data($0) }
            // POSIX rename replaces atomically (FileManager.replaceItemAt fails on Linux when the target is absent).
            if (try? data.write(to: temporary)) != nil, rename(temporary.path, cached.path) != 0 {
                try? FileManager.default.removeItem(at: temporary)
            }
        }
        return words
    }

    private func compileUncached(name: String, source: String, defines: [(String, String)], optimize: Bool) throws -> [UInt32] {
        guard let options = shaderc_compile_options_initialize() else {
            throw VulkanError.unsupported("shaderc_compile_options_initialize failed")
        }
        defer { shaderc_compile_options_release(options) }
        shaderc_compile_options_set_target_env(options, shaderc_target_env_vulkan, UInt32(shaderc_env_version_vulkan_1_2.rawValue))
        shaderc_compile_options_set_target_spirv(options, shaderc_spirv_version_1_5)
        shaderc_compile_options_set_optimization_level(options, optimize ? shaderc_optimization_level_performance
                                                                          : shaderc_optimization_level_zero)
        for (key, value) in defines {
            shaderc_compile_options_add_macro_definition(options, key, key.utf8.count, value, value.utf8.count)
        }
        let utf8 = Array(source.utf8)
        guard let result = utf8.withUnsafeBufferPointer({ text in
            text.withMemoryRebound(to: CChar.self) { chars in
                shaderc_compile_into_spv(compiler, chars.baseAddress, chars.count, shaderc_compute_shader,
                                         name, "main", options)
            }
        }) else {
            throw VulkanError.shaderCompilation(name: name, log: "shaderc returned no result")
        }
        defer { shaderc_result_release(result) }
        guard shaderc_result_get_compilation_status(result) == shaderc_compilation_status_success else {
            let log = shaderc_result_get_error_message(result).map { String(cString: $0) } ?? "unknown error"
            throw VulkanError.shaderCompilation(name: name, log: log)
        }
        let length = shaderc_result_get_length(result)
        guard let bytes = shaderc_result_get_bytes(result), length % 4 == 0 else {
            throw VulkanError.shaderCompilation(name: name, log: "shaderc returned \(length) bytes")
        }
        return Array(UnsafeRawBufferPointer(start: bytes, count: length).bindMemory(to: UInt32.self))
    }
}

/// A 128-bit FNV-1a digest in hex: stable across runs and platforms, enough for cache keys.
func stableHash(_ text: String) -> String {
    var a: UInt64 = 0xcbf2_9ce4_8422_2325
    var b: UInt64 = 0x8422_2325_cbf2_9ce4
    for byte in text.utf8 {
        a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        b = (b ^ UInt64(byte ^ 0x5A)) &* 0x0000_0100_0000_01B3
    }
    return String(a, radix: 16) + String(b, radix: 16)
}
