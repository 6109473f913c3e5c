import Volume

/// Which part of a batch this process runs: the cases, sorted by name, go to part `index mod count`, so the parts
/// are disjoint and together hold every case, however the scheduler numbers its tasks.
struct Shard: Equatable {
    let part: Int
    let count: Int

    static let whole = Shard(part: 0, count: 1)

    /// `--part-id`/`--num-parts` where given; else a Slurm array task (part SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN,
    /// divided by SLURM_ARRAY_TASK_STEP, of SLURM_ARRAY_TASK_COUNT); else a Kubernetes Indexed Job (part
    /// JOB_COMPLETION_INDEX of SEGVOL_NUM_PARTS); else the whole batch.
    static func resolve(partID: Int?, numParts: Int?, environment: [String: String]) throws -> Shard {
        func integer(_ name: String) throws -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw PipelineError("\(name)=\(text) is not an integer")
            }
            return value
        }
        var part = partID, count = numParts
        if let task = try integer("SLURM_ARRAY_TASK_ID") {
            let first = try integer("SLURM_ARRAY_TASK_MIN") ?? 0, step = max(try integer("SLURM_ARRAY_TASK_STEP") ?? 1, 1)
            guard (task - first) % step == 0 else {
                throw PipelineError("Slurm array task \(task) is not on the array's step; give --part-id and --num-parts")
            }
            part = part ?? (task - first) / step
            count = try count ?? integer("SLURM_ARRAY_TASK_COUNT")
        } else if let index = try integer("JOB_COMPLETION_INDEX") {
            part = part ?? index
            count = try count ?? integer("SEGVOL_NUM_PARTS")
            guard count != nil else {
                throw PipelineError("JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but the number of parts is not: give --num-parts or SEGVOL_NUM_PARTS (the Job's completions)")
            }
        }
        switch (part, count) {
        case (nil, nil):
            return .whole
        case let (part?, count?):
            guard count >= 1 else { throw PipelineError("the number of parts must be at least 1, not \(count)") }
            guard (0..<count).contains(part) else {
                throw PipelineError("part \(part) is outside 0..<\(count); for a Slurm array with ids that are not consecutive, give --part-id and --num-parts")
            }
            return Shard(part: part, count: count)
        case (_?, nil):
            throw PipelineError("--part-id needs --num-parts")
        case (nil, _?):
            throw PipelineError("--num-parts needs --part-id (or a Slurm array task or a Kubernetes Indexed Job)")
        }
    }

    /// This part's cases out of all cases sorted by name.
    func select(_ cases: [BatchCase]) -> [BatchCase] {
        cases.enumerated().filter { $0.offset % count == part }.map(\.element)
    }
}
