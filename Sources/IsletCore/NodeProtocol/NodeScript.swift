import Foundation

/// Builds the one shell script islet sends to a node per round trip: a plan's probe, or a batch of steps.
///
/// Results travel as lines `MARKER KIND INDEX FIELDS...` on stdout (see `ResultKind`), where MARKER holds a
/// random nonce per script, so nothing a step prints can be mistaken for a result. Free text (facts,
/// outputs, logs) is base64-encoded. Step scripts run with `eval` in a subshell: their text travels inside
/// this script on stdin and never appears in any process's argv.
///
/// Every script first takes the node's run lock (`/var/lib/islet/run.lock` under `$ISLET_ROOT`): shared
/// for a probe, exclusive for steps. A script left running by an islet that was killed keeps its lock, so
/// the next run waits for it (and says so) instead of overlapping it. Holding the exclusive lock also
/// means no other islet script is running there, so leftover working folders are removed.
struct NodeScript {
    enum Lock { case shared, exclusive }

    let marker = "__ISLET_\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))__"
    private(set) var text = ""

    init(filesystemRoot: String, lock: Lock) {
        let flockMode = lock == .shared ? " -s" : ""
        let clean = lock == .exclusive ? "\n  rm -rf \"$__d\"/tmp/run.* 2>/dev/null" : ""
        text = """
            __m=\(ShellQuoting.quote(marker))
            ISLET_ROOT=\(ShellQuoting.quote(filesystemRoot)); export ISLET_ROOT
            __emit() { printf '\\n%s %s\\n' "$__m" "$*"; }
            __d="$ISLET_ROOT/var/lib/islet"
            [ -d "$__d/tmp" ] || { mkdir -p "$__d/tmp" && chmod 700 "$__d" "$__d/tmp"; } || exit 1
            if command -v flock >/dev/null 2>&1; then
              exec 9>>"$__d/run.lock" || exit 1
              flock -n\(flockMode) 9 || { __emit \(ResultKind.waiting.rawValue); flock\(flockMode) 9; } || exit 1\(clean)
            fi
            __t=$(mktemp -d "$__d/tmp/run.XXXXXX") || exit 1
            __st=
            trap 'IFS="
            "; set -f; rm -rf -- "$__t" $__st' EXIT
            __b64() { base64 -w 0; }
            __file() {
              if [ -f "$3" ]; then
                __h=$(sha256sum < "$3"); __h=${__h%% *}; __s=$(stat -c '%a %U:%G' "$3")
              else
                __h=-; __s='- -'
              fi
              __emit \(ResultKind.file.rawValue) "$1" "$2" "$__h" "$__s"
              [ -z "$4" ] || { [ "$__h" = "$4" ] && [ "${__s%% *}" = "$5" ] && __owner "${__s#* }" "$6"; }
            }
            __owner() { case $2 in '') return 0 ;; *:*) [ "$1" = "$2" ] ;; *) [ "${1%%:*}" = "$2" ] ;; esac; }
            __has() {
              for __k in "$@"; do
                __found=
                while IFS= read -r __l || [ -n "$__l" ]; do case $__l in "$__k="*) __found=1 ;; esac; done < "$ISLET_OUTPUT"
                [ -n "$__found" ] || return 1
              done
            }
            __place() {
              case $4 in *:*) __o=${4%%:*} __g=${4#*:} ;; *) __o=$4 __g= ;; esac
              install -D -m "$3" ${__o:+-o "$__o"} ${__g:+-g "$__g"} "$1" "$2.islet-new" && mv -f "$2.islet-new" "$2"
            }
            __a="$ISLET_ROOT"\(ShellQuoting.quote(ArtifactNeeds.nodeDirectory))
            __artifact() {
              [ -f "$__a/$2" ] && return 0
              [ -n "$1" ] && mkdir -p "$__a" && install -m 0644 "$1" "$__a/.$2.new" && __verified "$2"
            }
            __fetch() {
              [ -f "$__a/$2" ] && return 0
              mkdir -p "$__a" && curl -fsS --retry 3 ${3:+-K "$3"} -o "$__a/.$2.new" "$1/v2/\(ArtifactDelivery.storeRepository)/blobs/sha256:$2" \\
                && chmod 0644 "$__a/.$2.new" && __verified "$2" || { rm -f "$__a/.$2.new"; return 1; }
            }
            __extract() {
              [ -f "$__a/$1.d/$2" ] && return 0
              rm -rf "$__a/.$1.d.new" && mkdir -p "$__a/.$1.d.new" && tar -xf "$__a/$1" -C "$__a/.$1.d.new" "$2" \\
                && [ -f "$__a/.$1.d.new/$2" ] && rm -rf "$__a/$1.d" && mv "$__a/.$1.d.new" "$__a/$1.d" \\
                || { rm -rf "$__a/.$1.d.new"; return 1; }
            }
            __verified() {
              __h=$(sha256sum < "$__a/.$1.new"); __h=${__h%% *}
              if [ "$__h" = "$1" ]; then mv -f "$__a/.$1.new" "$__a/$1"; else rm -f "$__a/.$1.new"; return 1; fi
            }
            __settle() { chmod "$2" "$1" && { [ -z "$3" ] || chown "$3" "$1"; }; }
            __emit \(ResultKind.ready.rawValue)

            """
    }

    mutating func append(_ line: String) { text += line + "\n" }

    /// Has the script remove an uploaded file when it ends, together with its working folder (one `rm`
    /// for all of them).
    mutating func removeAtExit(_ stagedPath: String) {
        append("__st=\"$__st\"'\n'\(ShellQuoting.quote(stagedPath))")
    }

    /// The text appended since the last call (the prologue, the first time): one part of a script sent in
    /// parts.
    mutating func takePart() -> String {
        defer { text = "" }
        return text
    }

    /// Prints the node's facts; they come first so that inputs reading facts can use them in the same script.
    /// A fact of plain characters travels as `=VALUE` (no process to encode it; base64 never starts with
    /// `=`), any other in base64.
    mutating func gatherFacts() {
        append(
            """
            __fact() {
              eval "__f_$1=\\$2"
              case $2 in
                *[!A-Za-z0-9._:+-]*) __emit \(ResultKind.fact.rawValue) "$1" "$(printf %s "$2" | __b64)" ;;
                *) __emit \(ResultKind.fact.rawValue) "$1" "=$2" ;;
              esac
            }
            __read() { __r=; { IFS= read -r __r < "$1"; } 2>/dev/null; }
            __osr="$ISLET_ROOT/etc/os-release"; [ -r "$__osr" ] || __osr=/etc/os-release
            __fact os "$( . "$__osr" 2>/dev/null; printf %s "${ID:-}")"
            __fact osVersion "$( . "$__osr" 2>/dev/null; printf %s "${VERSION_ID:-}")"
            set -f; set -- $(uname -n -r -m); set +f
            __fact arch "$3"
            if [ -n "$ISLET_ROOT" ] && [ -r "$ISLET_ROOT/etc/hostname" ]; then __read "$ISLET_ROOT/etc/hostname"; __fact hostname "$__r"; else __fact hostname "$1"; fi
            __read "$ISLET_ROOT/etc/machine-id"; __fact machineId "$__r"
            __fact kernel "$2"
            __mem=; while read -r __k __v __u; do [ "$__k" = MemTotal: ] && __mem=$((__v / 1024)); done < /proc/meminfo
            __fact memoryMiB "$__mem"
            __fact diskFreeMiB "$(df -Pk "$ISLET_ROOT/var" 2>/dev/null | { read -r __h; read -r __d __s __used __avail __r; echo $((${__avail:-0} / 1024)); })"
            """)
    }

    /// Exports a step's environment inside the current subshell. Inputs that read facts take them from the
    /// shell variables `gatherFacts` set earlier in the same script.
    mutating func export(
        _ environment: [(name: String, value: String)], factInputs: [String: String] = [:], index: Int,
        node: String, step: StepID
    ) throws {
        append(try Self.exports(environment, factInputs: factInputs, index: index, node: node, step: step))
    }

    /// The lines `export` appends; it throws before anything is appended.
    static func exports(
        _ environment: [(name: String, value: String)], factInputs: [String: String] = [:], index: Int,
        node: String, step: StepID
    ) throws -> String {
        let base: [(String, String)] = [("ISLET_NODE", node), ("ISLET_STEP", step.description)]
        let plain = environment.filter { factInputs[$0.name] == nil }.map { ($0.name, $0.value) }
        var text = try ShellQuoting.exports(base + plain)
        for (name, fact) in factInputs.sorted(by: { $0.key < $1.key }) {
            text += "export \(name)=\"$__f_\(fact)\"\n"
        }
        return text + "export ISLET_OUTPUT=\"$__t/out.\(index)\"; : > \"$ISLET_OUTPUT\""
    }

    /// Reports the sha256, mode and owner of each managed file; with `verify`, the line's status says
    /// whether all of them are as rendered.
    func fileReports(_ files: [RenderedFile], index: Int, verify: Bool) -> [String] {
        files.enumerated().map { number, file in
            let path = "\"$ISLET_ROOT\"\(ShellQuoting.quote(file.destination))"
            guard verify else { return "__file \(index) \(number) \(path)" }
            let owner = ShellQuoting.quote(file.owner ?? "")
            return "__file \(index) \(number) \(path) \(file.sha256) \(String(file.mode, radix: 8)) \(owner)"
        }
    }

    /// A step script, run in its own subshell with the node's lock closed, its text never in argv. A script
    /// that is only `true` (a step whose managed files are its whole state) runs as the builtin: no subshell
    /// to fork for it, twice per such step on every node.
    /// - Parameter log: where its output goes (a path expression), or nil to stream it with the results.
    static func evaluate(_ script: Script, log: String?) -> String {
        if script.text.trimmingCharacters(in: .whitespacesAndNewlines) == "true" { return "true" }
        let output = log.map { " > \($0) 2>&1" } ?? " 2>&1"
        return "( eval \(ShellQuoting.quote(script.text)) )\(output) < /dev/null 9>&-"
    }

    /// Reports what the step wrote to `$ISLET_OUTPUT` (most steps write nothing: no process for those).
    func outputReport(index: Int) -> String {
        let kind = ResultKind.outputs.rawValue
        return "if [ -s \"$ISLET_OUTPUT\" ]; then __emit \(kind) \(index) \"$(__b64 < \"$ISLET_OUTPUT\")\"; "
            + "else __emit \(kind) \(index); fi"
    }

    /// Reports the last 4 KiB of a quiet step's log.
    func logReport(index: Int) -> String {
        let kind = ResultKind.logTail.rawValue
        return "if [ -s \"$__t/log.\(index)\" ]; then __emit \(kind) \(index) "
            + "\"$(tail -c 4096 \"$__t/log.\(index)\" | __b64)\"; else __emit \(kind) \(index); fi"
    }
}
