extension CPUBackend {
    public func attention(q: AttentionOperand, k: AttentionOperand, v: AttentionOperand, out: AttentionOperand,
                          _ shape: AttentionShape) throws {
        throw BackendError("attention is not implemented yet")
    }
}
