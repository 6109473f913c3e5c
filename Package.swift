// swift-tools-version:6.0
import PackageDescription

// shaderc from Debian: the shared library does not load against Debian's SPIRV-Tools, so the
// static archives are linked in one group (see shared/notes/BUILD-NOTES.md).
let shadercLink: [LinkerSetting] = [
    .unsafeFlags([
        "-Xlinker", "--start-group",
        "-lshaderc_combined", "-lglslang", "-lMachineIndependent", "-lOSDependent",
        "-lOGLCompiler", "-lHLSL", "-lGenericCodeGen", "-lglslang-default-resource-limits",
        "-lSPIRV", "-lSPIRV-Tools-opt", "-lSPIRV-Tools",
        "-Xlinker", "--end-group",
    ]),
    .linkedLibrary("stdc++"), .linkedLibrary("m"), .linkedLibrary("pthread"),
]

let package = Package(
    name: "SegVolEngine",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "segvol", targets: ["segvol"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C modules over system headers.
        .systemLibrary(name: "CVulkan", path: "Sources/CVulkan", pkgConfig: "vulkan"),
        .systemLibrary(name: "CShaderc", path: "Sources/CShaderc"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib"),
        // libpng for preview images, linked from its static archive (libpng16.a) so the binary does not need it.
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .systemLibrary(name: "COpenJPEG", path: "Sources/COpenJPEG"),
        .systemLibrary(name: "CCharLS", path: "Sources/CCharLS"),

        // Build-time tool: embeds Shaders/*.comp and *.glsl into the Kernels module.
        .executableTarget(name: "ShaderEmbedder", path: "tools/ShaderEmbedder"),
        .plugin(name: "EmbedShaders", capability: .buildTool(),
                dependencies: ["ShaderEmbedder"], path: "tools/plugins/EmbedShaders"),

        // Vulkan instance, device, memory, pipelines, command recording.
        .target(name: "VulkanRuntime", dependencies: ["CVulkan", "CShaderc"],
                path: "Sources/VulkanRuntime", linkerSettings: shadercLink),
        // The op interface, the CPU reference backend and the Vulkan backend (one type per op).
        .target(name: "Kernels", dependencies: ["VulkanRuntime"],
                path: "Sources/Kernels", plugins: ["EmbedShaders"]),
        // Checkpoint reading, tokenizer and the SegVol graph, written once against `Backend`.
        .target(name: "Model", dependencies: ["Kernels"], path: "Sources/Model"),
        // Image I/O (NIfTI, NPY, DICOM), preprocessing, the zoom-out-zoom-in pipeline, the prompt vocabulary and reports.
        // OpenJPEG's static archive keeps the release binary free of libopenjp2.so.
        .target(name: "Volume", dependencies: ["Model", "Kernels", "CZlib", "CPNG", "COpenJPEG", "CCharLS"], path: "Sources/Volume",
                linkerSettings: [.unsafeFlags(["-Xlinker", "-l:libopenjp2.a"])]),
        .executableTarget(name: "segvol",
                          dependencies: ["Volume", "Model", "Kernels", "VulkanRuntime",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/CLI"),

        // Fixture paths, seeded random inputs, tolerances and the Vulkan-or-fail rule for tests.
        .target(name: "TestSupport", dependencies: ["Kernels", "VulkanRuntime"], path: "Tests/TestSupport"),
        .testTarget(name: "RuntimeTests", dependencies: ["VulkanRuntime", "Kernels", "TestSupport"], path: "Tests/RuntimeTests"),
        .testTarget(name: "KernelTests", dependencies: ["Kernels", "VulkanRuntime", "TestSupport"], path: "Tests/KernelTests"),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Kernels", "Volume", "TestSupport"], path: "Tests/ModelTests"),
        .testTarget(name: "VolumeTests", dependencies: ["Volume", "Model", "Kernels", "TestSupport"], path: "Tests/VolumeTests"),
    ],
    swiftLanguageModes: [.v5]
)
