#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's limit on open file descriptors, which every connection uses one of.
package enum DescriptorLimit {
    /// Most we raise the soft limit to: beyond about a million, the kernel's own default
    /// (`fs.nr_open`) refuses it anyway.
    static let ceiling: rlim_t = 1 << 20

    /// Raises the soft limit towards the hard one (systemd and most distributions set the hard
    /// limit far higher than the default soft 1024), up to `ceiling`, and returns the soft limit
    /// in force; `nil` when there is none.
    package static func raised() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        let wanted = min(limit.rlim_max, ceiling)
        if limit.rlim_cur < wanted {
            var raised = limit
            raised.rlim_cur = wanted
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        // RLIM_INFINITY is all bits set.
        guard limit.rlim_cur != rlim_t.max else { return nil }
        return Int(clamping: limit.rlim_cur)
    }
}
