import CVulkan

/// One compiled compute shader with its layout: N storage buffers at set 0 and a push-constant block.
public final class ComputePipeline {
    public let name: String
    public let bindingCount: Int
    public let texelBindings: Set<Int>
    public let pushConstantBytes: Int
    let handle: VkPipeline
    let layout: VkPipelineLayout
    let setLayout: VkDescriptorSetLayout
    private let module: VkShaderModule
    /// The raw device handle: the GPUDevice releases its pipelines inside its own deinit.
    private let deviceHandle: VkDevice

    init(device: GPUDevice, name: String, spirv: [UInt32], bindingCount: Int, texelBindings: Set<Int>,
         pushConstantBytes: Int) throws {
        deviceHandle = device.handle
        self.name = name
        self.bindingCount = bindingCount
        self.texelBindings = texelBindings
        self.pushConstantBytes = pushConstantBytes
        let vkDevice = device.handle

        var moduleInfo = VkShaderModuleCreateInfo()
        moduleInfo.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
        moduleInfo.codeSize = spirv.count * 4
        var shaderModule: VkShaderModule?
        try spirv.withUnsafeBufferPointer { code in
            moduleInfo.pCode = code.baseAddress
            try check(vkCreateShaderModule(vkDevice, &moduleInfo, nil, &shaderModule), "vkCreateShaderModule(\(name))")
        }

        var bindings = (0..<bindingCount).map { i -> VkDescriptorSetLayoutBinding in
            var binding = VkDescriptorSetLayoutBinding()
            binding.binding = UInt32(i)
            binding.descriptorType = texelBindings.contains(i) ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
            binding.descriptorCount = 1
            binding.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT.rawValue
            return binding
        }
        var setLayoutInfo = VkDescriptorSetLayoutCreateInfo()
        setLayoutInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO
        setLayoutInfo.bindingCount = UInt32(bindingCount)
        var descriptorSetLayout: VkDescriptorSetLayout?
        try bindings.withUnsafeMutableBufferPointer { pointer in
            setLayoutInfo.pBindings = UnsafePointer(pointer.baseAddress)
            try check(vkCreateDescriptorSetLayout(vkDevice, &setLayoutInfo, nil, &descriptorSetLayout),
                      "vkCreateDescriptorSetLayout(\(name))")
        }

        var pushRange = VkPushConstantRange()
        pushRange.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT.rawValue
        pushRange.size = UInt32(pushConstantBytes)
        var layoutInfo = VkPipelineLayoutCreateInfo()
        layoutInfo.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
        layoutInfo.setLayoutCount = 1
        layoutInfo.pushConstantRangeCount = pushConstantBytes > 0 ? 1 : 0
        var pipelineLayout: VkPipelineLayout?
        try withUnsafePointer(to: &descriptorSetLayout) { setLayouts in
            try withUnsafePointer(to: &pushRange) { range in
                layoutInfo.pSetLayouts = setLayouts
                layoutInfo.pPushConstantRanges = range
                try check(vkCreatePipelineLayout(vkDevice, &layoutInfo, nil, &pipelineLayout), "vkCreatePipelineLayout(\(name))")
            }
        }

        var pipelineInfo = VkComputePipelineCreateInfo()
        pipelineInfo.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
        pipelineInfo.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
        pipelineInfo.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT
        pipelineInfo.stage.module = shaderModule
        pipelineInfo.layout = pipelineLayout
        var pipeline: VkPipeline?
        try "main".withCString { entry in
            pipelineInfo.stage.pName = entry
            try check(vkCreateComputePipelines(vkDevice, device.pipelineCache, 1, &pipelineInfo, nil, &pipeline),
                      "vkCreateComputePipelines(\(name))")
        }
        guard let shaderModule, let descriptorSetLayout, let pipelineLayout, let pipeline else {
            throw VulkanError.unsupported("pipeline \(name) was not created")
        }
        module = shaderModule
        setLayout = descriptorSetLayout
        layout = pipelineLayout
        handle = pipeline
    }

    deinit {
        vkDestroyPipeline(deviceHandle, handle, nil)
        vkDestroyPipelineLayout(deviceHandle, layout, nil)
        vkDestroyDescriptorSetLayout(deviceHandle, setLayout, nil)
        vkDestroyShaderModule(deviceHandle, module, nil)
    }
}
