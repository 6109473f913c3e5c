// VulkanRuntime module
