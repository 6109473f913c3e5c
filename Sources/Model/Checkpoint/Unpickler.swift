import Foundation

/// A value on the pickle stack. Lists and dicts are reference types because pickle mutates them
/// after memoizing (e.g. `EMPTY_DICT, BINPUT, MARK ... SETITEMS`).
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes(Data)
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    case global(module: String, name: String)
    /// A value made by the caller's hooks (persistent loads and reductions).
    case custom(Any)

    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let module, let name): return "\(module).\(name)"
        case .custom(let value): return "\(type(of: value))"
        }
    }
}

final class PickleList {
    var items: [PickleValue] = []
}

/// An insertion-ordered dict; pickled state dicts rely on that order.
final class PickleDict {
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var stringKeys: [String: Int] = [:]

    func set(_ key: PickleValue, _ value: PickleValue) {
        if case .string(let name) = key {
            if let existing = stringKeys[name] {
                entries[existing].value = value
                return
            }
            stringKeys[name] = entries.count
        }
        entries.append((key, value))
    }
}

/// A pickle interpreter for the opcodes `torch.save` emits (protocols 2 to 5, no arbitrary code).
/// Objects are only ever created by the two hooks, so unknown classes are rejected, not run.
struct Unpickler {
    /// Turns a `BINPERSID` id into a value (PyTorch: a storage reference).
    var persistentLoad: (PickleValue) throws -> PickleValue
    /// Applies a `GLOBAL` callable to its argument tuple (`REDUCE`).
    var reduce: (_ module: String, _ name: String, _ args: [PickleValue]) throws -> PickleValue

    func load(_ span: ByteSpan) throws -> PickleValue {
        try span.withBytes { bytes in
            var machine = Machine(bytes: bytes, hooks: self)
            return try machine.run()
        }
    }
}

private struct Machine {
    let bytes: UnsafeRawBufferPointer
    let hooks: Unpickler
    var position = 0
    var opcodeStart = 0
    var stack: [PickleValue] = []
    var marks: [Int] = []
    var memo: [Int: PickleValue] = [:]

    init(bytes: UnsafeRawBufferPointer, hooks: Unpickler) {
        self.bytes = bytes
        self.hooks = hooks
    }

    mutating func run() throws -> PickleValue {
        while true {
            opcodeStart = position
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()  // PROTO: all protocols read the same way here
            case 0x95: position = try advance(8)  // FRAME: a length hint only
            case 0x2E:  // STOP
                return try pop()
            case 0x28: marks.append(stack.count)  // MARK
            case 0x30: _ = try pop()  // POP
            case 0x31: _ = try popMark()  // POP_MARK
            case 0x32: stack.append(try top())  // DUP

            case 0x4E: stack.append(.none)  // NONE
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try uint(4)))))  // BININT
            case 0x4B: stack.append(.int(Int(try uint(1))))  // BININT1
            case 0x4D: stack.append(.int(Int(try uint(2))))  // BININT2
            case 0x8A: stack.append(.int(try long(length: Int(try uint(1)))))  // LONG1
            case 0x47:  // BINFLOAT: big-endian IEEE double
                stack.append(.float(Double(bitPattern: UInt64(bigEndian: try rawUInt64()))))

            case 0x58: stack.append(.string(try utf8(length: Int(try uint(4)))))  // BINUNICODE
            case 0x8C: stack.append(.string(try utf8(length: Int(try uint(1)))))  // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try utf8(length: try length64())))  // BINUNICODE8
            // BINSTRING / SHORT_BINSTRING: Python 2 byte strings, decoded as Latin-1 like `encoding='latin1'`.
            case 0x54: stack.append(.string(try latin1(length: Int(Int32(truncatingIfNeeded: try uint(4))))))
            case 0x55: stack.append(.string(try latin1(length: Int(try uint(1)))))
            case 0x42: stack.append(.bytes(try data(length: Int(try uint(4)))))  // BINBYTES
            case 0x43: stack.append(.bytes(try data(length: Int(try uint(1)))))  // SHORT_BINBYTES
            case 0x8E: stack.append(.bytes(try data(length: try length64())))  // BINBYTES8

            case 0x29: stack.append(.tuple([]))  // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popMark()))  // TUPLE
            case 0x85: stack.append(.tuple(try pop(1)))  // TUPLE1
            case 0x86: stack.append(.tuple(try pop(2)))  // TUPLE2
            case 0x87: stack.append(.tuple(try pop(3)))  // TUPLE3
            case 0x5D: stack.append(.list(PickleList()))  // EMPTY_LIST
            case 0x6C:  // LIST
                let list = PickleList()
                list.items = try popMark()
                stack.append(.list(list))
            case 0x61:  // APPEND
                let item = try pop()
                try list().items.append(item)
            case 0x65:  // APPENDS
                let items = try popMark()
                try list().items.append(contentsOf: items)
            case 0x7D: stack.append(.dict(PickleDict()))  // EMPTY_DICT
            case 0x64:  // DICT
                let dict = PickleDict()
                try setItems(dict, try popMark())
                stack.append(.dict(dict))
            case 0x73:  // SETITEM
                let pair = try pop(2)
                try setItems(try dict(), pair)
            case 0x75:  // SETITEMS
                let items = try popMark()
                try setItems(try dict(), items)

            case 0x63:  // GLOBAL: "module\nname\n"
                let module = try line()
                stack.append(.global(module: module, name: try line()))
            case 0x93:  // STACK_GLOBAL
                let pair = try pop(2)
                guard case .string(let module) = pair[0], case .string(let name) = pair[1] else {
                    throw error("STACK_GLOBAL needs two strings, got \(pair[0].kind) and \(pair[1].kind)")
                }
                stack.append(.global(module: module, name: name))

            case 0x71: memo[Int(try uint(1))] = try top()  // BINPUT
            case 0x72: memo[Int(try uint(4))] = try top()  // LONG_BINPUT
            case 0x94: memo[memo.count] = try top()  // MEMOIZE
            case 0x68: stack.append(try recall(Int(try uint(1))))  // BINGET
            case 0x6A: stack.append(try recall(Int(try uint(4))))  // LONG_BINGET

            case 0x51: stack.append(try hooks.persistentLoad(try pop()))  // BINPERSID
            case 0x52:  // REDUCE
                let args = try pop()
                let callable = try pop()
                guard case .global(let module, let name) = callable, case .tuple(let values) = args else {
                    throw error("REDUCE needs a global and a tuple, got \(callable.kind) and \(args.kind)")
                }
                stack.append(try hooks.reduce(module, name, values))
            case 0x62:  // BUILD: the state only sets attributes (e.g. a state dict's `_metadata`), not needed here
                _ = try pop()
                _ = try top()

            default:
                throw error(String(format: "unsupported pickle opcode 0x%02X", op))
            }
        }
    }

    // MARK: stack

    func error(_ message: String) -> FormatError {
        FormatError("pickle: \(message) at byte \(opcodeStart)")
    }

    mutating func pop() throws -> PickleValue {
        guard let value = stack.popLast(), stack.count >= (marks.last ?? 0) else {
            throw error("stack underflow")
        }
        return value
    }

    mutating func pop(_ count: Int) throws -> [PickleValue] {
        guard stack.count - count >= (marks.last ?? 0) else { throw error("stack underflow") }
        defer { stack.removeLast(count) }
        return Array(stack.suffix(count))
    }

    func top() throws -> PickleValue {
        guard let value = stack.last, stack.count > (marks.last ?? 0) else { throw error("stack underflow") }
        return value
    }

    mutating func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw error("no MARK on the stack") }
        defer { stack.removeLast(stack.count - mark) }
        return Array(stack[mark...])
    }

    func recall(_ key: Int) throws -> PickleValue {
        guard let value = memo[key] else { throw error("memo entry \(key) was never stored") }
        return value
    }

    func list() throws -> PickleList {
        guard case .list(let list) = try top() else { throw error("APPEND target is \(try top().kind), not a list") }
        return list
    }

    func dict() throws -> PickleDict {
        guard case .dict(let dict) = try top() else { throw error("SETITEM target is \(try top().kind), not a dict") }
        return dict
    }

    func setItems(_ dict: PickleDict, _ items: [PickleValue]) throws {
        guard items.count % 2 == 0 else { throw error("odd number of items for a dict") }
        for i in stride(from: 0, to: items.count, by: 2) { dict.set(items[i], items[i + 1]) }
    }

    // MARK: reading arguments

    /// Moves past `count` bytes, returning the new position.
    mutating func advance(_ count: Int) throws -> Int {
        guard count >= 0, count <= bytes.count - position else {
            throw error("unexpected end of pickle data (needed \(count) bytes)")
        }
        return position + count
    }

    mutating func raw(_ count: Int) throws -> UnsafeRawBufferPointer {
        let end = try advance(count)
        defer { position = end }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<end])
    }

    mutating func byte() throws -> UInt8 { try raw(1)[0] }

    mutating func uint(_ count: Int) throws -> UInt64 {
        try raw(count).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func rawUInt64() throws -> UInt64 { try raw(8).loadUnaligned(as: UInt64.self) }

    mutating func length64() throws -> Int {
        let value = try uint(8)
        guard value <= UInt64(Int.max) else { throw error("length \(value) is too large") }
        return Int(value)
    }

    /// A little-endian two's-complement integer of up to 8 bytes.
    mutating func long(length: Int) throws -> Int {
        guard length <= 8 else { throw error("LONG1 of \(length) bytes does not fit in 64 bits") }
        let digits = try raw(length)
        guard let last = digits.last else { return 0 }
        var value = digits.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        if last & 0x80 != 0, length < 8 { value |= ~UInt64(0) << (8 * length) }  // sign-extend
        return Int(Int64(bitPattern: value))
    }

    mutating func utf8(length: Int) throws -> String {
        let span = try raw(length)
        guard let text = String(bytes: span, encoding: .utf8) else { throw error("invalid UTF-8 string") }
        return text
    }

    mutating func latin1(length: Int) throws -> String {
        String(try raw(length).map { Character(Unicode.Scalar($0)) })
    }

    mutating func data(length: Int) throws -> Data { Data(try raw(length)) }

    mutating func line() throws -> String {
        guard let newline = bytes[position...].firstIndex(of: 0x0A) else { throw error("unterminated GLOBAL name") }
        let text = String(decoding: try raw(newline - position), as: UTF8.self)
        position += 1
        return text
    }
}
