#!/usr/bin/env bash
# Syntax check of a udev rules file with the best tools this machine has:
#   1. `udevadm verify FILE` where the installed udev has it (systemd >= 253);
#   2. otherwise udev's own rule parser through `udevadm test`, run as root in a private mount
#      namespace whose rules directories hold only FILE (nothing on the host is touched: /run/udev
#      is a tmpfs there and the test device, the loopback interface, has no device node);
#   3. always, a strict parser of our own (keys, attributes, operators, quoting, separators,
#      substitutions, GOTO targets), stricter than udev, which only warns and skips bad lines.
# Exits 0 when FILE is clean, 1 on any syntax error, 2 on bad usage.
set -euo pipefail

if [ "${1:-}" = --self-test ] && [ $# -eq 2 ]; then
  # The checker must reject each broken line (appended to the good FILE) and accept FILE itself.
  good=$2
  bash "$0" "$good" >/dev/null || { echo "self-test: $good itself is rejected" >&2; exit 1; }
  # shellcheck disable=SC2016,SC1003 # the broken lines are literal on purpose
  cases=(
    'GROUP=="tape"'                                  # match operator on an assignment key
    'SUBSYSTEM=="scsi_generic", FROB="1"'            # unknown key
    'KERNEL=="sg*", SYMLINK+="tape/unterminated'     # unterminated quote
    'KERNEL=="sg*" GROUP="tape"'                     # missing comma
    'GROUP=tape'                                     # unquoted value
    'KERNEL=="sg*", GOTO="no_such_label"'            # GOTO without LABEL
    'KERNEL=="sg*", MODE="rw-rw----"'                # MODE not octal
    'ENV=="x"'                                       # ENV without {attribute}
    'IMPORT{prog}="scsi_id"'                         # bad IMPORT type
    'ATTRS{type}="8"'                                # assignment to a match-only key
    'KERNEL=="sg*", SYMLINK+="tape/$serial"'         # unknown substitution
    'KERNEL=="sg*", \'                              # continuation at end of file
  )
  tmpd=$(mktemp -d)
  trap 'rm -rf "$tmpd"' EXIT
  bad=0
  for c in "${cases[@]}"; do
    { cat "$good"; printf '%s\n' "$c"; } >"$tmpd/60-broken.rules"
    if bash "$0" "$tmpd/60-broken.rules" >/dev/null 2>&1; then
      echo "self-test: NOT rejected: $c" >&2
      bad=1
    else
      echo "self-test: rejected as it must be: $c"
    fi
  done
  [ "$bad" = 0 ] || exit 1
  echo "self-test: ${#cases[@]} broken rules rejected, $good accepted"
  exit 0
fi
if [ $# -ne 1 ]; then
  echo "usage: $0 FILE.rules | $0 --self-test GOOD.rules" >&2
  exit 2
fi
file=$1
if [ ! -r "$file" ] || [ ! -f "$file" ]; then
  echo "check.sh: cannot read $file" >&2
  exit 2
fi

failed=0
checked_by_udev=0

# --- 1. udevadm verify ------------------------------------------------------------------------
if command -v udevadm >/dev/null 2>&1 && udevadm verify --help >/dev/null 2>&1; then
  echo "udev: udevadm verify ($(udevadm --version))"
  if udevadm verify --no-summary "$file"; then
    checked_by_udev=1
  else
    echo "udev: udevadm verify rejected $file" >&2
    failed=1
    checked_by_udev=1
  fi
fi

# --- 2. udev's parser through udevadm test, isolated ---------------------------------------------
if [ "$checked_by_udev" = 0 ] && command -v udevadm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 && [ -e /sys/class/net/lo ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    name=$(basename "$file")
    cp "$file" "$tmp/$name"
    # Inside the namespace: our file is the only rules file udev can see, and every write udev
    # makes (its database under /run/udev) lands in a tmpfs that vanishes with the namespace.
    # shellcheck disable=SC2016
    if out=$(unshare -m sh -ec '
          mount --make-rprivate /
          mount --bind "$1" /etc/udev/rules.d
          mount -t tmpfs none /run/udev 2>/dev/null || { mkdir -p /run/udev && mount -t tmpfs none /run/udev; }
          mount -t tmpfs none /usr/lib/udev/rules.d
          [ ! -d /usr/local/lib/udev/rules.d ] || mount -t tmpfs none /usr/local/lib/udev/rules.d
          udevadm test --action=add /class/net/lo 2>&1
        ' sh "$tmp" 2>&1); then
      echo "udev: udevadm test (udev $(udevadm --version)), rules parsed in a private namespace"
      checked_by_udev=1
      # udev reports a bad line as "PATH:LINE message" and skips it.
      if ! printf '%s\n' "$out" | grep -q "^Reading rules file: /etc/udev/rules.d/$name"; then
        echo "udev: udevadm test did not read $name; its output:" >&2
        printf '%s\n' "$out" | sed 's/^/  /' >&2
        failed=1
      fi
      errors=$(printf '%s\n' "$out" | grep -E "^/etc/udev/rules.d/$name:[0-9]+ " || true)
      if [ -n "$errors" ]; then
        printf '%s\n' "$errors" | sed "s|^/etc/udev/rules.d/$name|$file|; s/^/udev: /" >&2
        failed=1
      fi
    else
      echo "udev: udevadm test could not run here; relying on our own parser:" >&2
      printf '%s\n' "$out" | tail -n 5 | sed 's/^/  /' >&2
    fi
  else
    echo "udev: udevadm $(udevadm --version) has no 'verify' and udevadm test needs root and" \
      "unshare; relying on our own parser" >&2
  fi
fi
if ! command -v udevadm >/dev/null 2>&1; then
  echo "udev: udevadm is not installed; relying on our own parser" >&2
fi

# --- 3. our own strict parser ----------------------------------------------------------------------
if ! command -v python3 >/dev/null 2>&1; then
  echo "check.sh: python3 is needed for the strict parser" >&2
  exit 1
fi
if ! python3 - "$file" <<'PY'; then
"""Strict parser for udev rules, after udev-rules.c (systemd 252) with udev's warnings as errors."""
import re
import sys

path = sys.argv[1]

MATCH = {"==", "!="}
ASSIGN = {"=", "+=", "-=", ":="}

# key -> (attribute: None forbidden / "req" required / "opt" optional, allowed attribute values or
#          None for any, allowed operators)
KEYS = {
    "ACTION": (None, None, MATCH),
    "DEVPATH": (None, None, MATCH),
    "KERNEL": (None, None, MATCH),
    "SUBSYSTEM": (None, None, MATCH),
    "DRIVER": (None, None, MATCH),
    "KERNELS": (None, None, MATCH),
    "SUBSYSTEMS": (None, None, MATCH),
    "DRIVERS": (None, None, MATCH),
    "ATTRS": ("req", None, MATCH),
    "TAGS": (None, None, MATCH),
    "RESULT": (None, None, MATCH),
    "PROGRAM": (None, None, MATCH | {"="}),  # udev reads a plain "=" as "=="
    "CONST": ("req", {"arch", "virt"}, MATCH),
    "TEST": ("opt", None, MATCH),
    "NAME": (None, None, MATCH | {"=", ":="}),
    "SYMLINK": (None, None, MATCH | ASSIGN),
    "TAG": (None, None, MATCH | ASSIGN),
    "ENV": ("req", None, MATCH | {"=", "+="}),
    "ATTR": ("req", None, MATCH | {"="}),
    "SYSCTL": ("req", None, MATCH | {"="}),
    "IMPORT": ("req", {"program", "builtin", "file", "db", "cmdline", "parent"}, MATCH | {"="}),
    "OWNER": (None, None, {"=", ":="}),
    "GROUP": (None, None, {"=", ":="}),
    "MODE": (None, None, {"=", ":="}),
    "SECLABEL": ("req", None, {"=", "+=", ":="}),
    "OPTIONS": (None, None, {"=", "+=", ":="}),
    "RUN": ("opt", {"program", "builtin"}, {"=", "+=", ":="}),
    "LABEL": (None, None, {"="}),
    "GOTO": (None, None, {"="}),
}

OPTIONS = re.compile(
    r"^(string_escape=(none|replace)|db_persist|watch|nowatch|static_node=\S+"
    r"|link_priority=-?\d+|log_level=\S+|event_timeout=\d+)$"
)
SUBST_NAMES = ["devnode", "tempnode", "attr", "sysfs", "env", "kernel", "number", "driver",
               "devpath", "id", "major", "minor", "result", "parent", "name", "links", "root",
               "sys"]
SUBST_NEEDS_ARG = {"attr", "sysfs", "env", "E", "s"}
SUBST_CHARS = set("NsEkndpbMmcPDLrS")

errors = []


def err(line, msg):
    errors.append(f"{path}:{line}: {msg}")


def check_substitutions(line, key, value):
    """Every $name / %c in a value must be one udev knows; $attr and $env need a {argument}."""
    i = 0
    while i < len(value):
        c = value[i]
        if c not in "$%":
            i += 1
            continue
        if i + 1 < len(value) and value[i + 1] == c:  # $$ or %%
            i += 2
            continue
        rest = value[i + 1:]
        if c == "$":
            name = next((n for n in sorted(SUBST_NAMES, key=len, reverse=True)
                         if rest.startswith(n)), None)
            if name is None:
                err(line, f"{key}: unknown substitution '${rest[:12]}' (write '$$' for a dollar)")
                return
            j = i + 1 + len(name)
        else:
            if not rest or rest[0] not in SUBST_CHARS:
                err(line, f"{key}: unknown substitution '%{rest[:1]}' (write '%%' for a percent)")
                return
            name = rest[0]
            j = i + 2
        if j < len(value) and value[j] == "{":
            close = value.find("}", j)
            if close < 0:
                err(line, f"{key}: unterminated '{{' in substitution")
                return
            if close == j + 1:
                err(line, f"{key}: empty '{{}}' in substitution")
            j = close + 1
        elif name in SUBST_NEEDS_ARG:
            err(line, f"{key}: substitution '{c}{name}' needs an argument in {{}}")
        i = j


def parse_rule(line, text, rule):
    """Splits one logical line into (key, attr, op, value) tuples; reports what udev would skip."""
    pos = 0
    n = len(text)
    first = True
    while True:
        while pos < n and text[pos] in " \t":
            pos += 1
        if pos >= n:
            break
        if not first:
            if text[pos] != ",":
                err(line, f"expected ',' between keys at column {pos + 1}: {text[pos:pos + 20]!r}")
                return
            pos += 1
            while pos < n and text[pos] in " \t":
                pos += 1
            if pos >= n:
                break
        first = False
        m = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\{([^}\"]*)\})?\s*(==|!=|\+=|-=|:=|=)\s*")\
            .match(text, pos)
        if not m:
            err(line, f"expected KEY[{{ATTR}}] OPERATOR \"VALUE\" at column {pos + 1}: "
                      f"{text[pos:pos + 20]!r}")
            return
        key, has_attr, attr, op = m.group(1), m.group(2), m.group(3), m.group(4)
        pos = m.end()
        escaped = False
        if text.startswith('e"', pos):
            escaped = True
            pos += 1
        if pos >= n or text[pos] != '"':
            err(line, f"{key}: value must be in double quotes")
            return
        pos += 1
        value = []
        while True:
            if pos >= n:
                err(line, f"{key}: unterminated quoted value")
                return
            c = text[pos]
            if c == "\\" and pos + 1 < n and (text[pos + 1] == '"' or escaped):
                value.append(text[pos:pos + 2])
                pos += 2
                continue
            if c == '"':
                pos += 1
                break
            value.append(c)
            pos += 1
        value = "".join(value)
        rule.append((key, attr, op, value))

        if key not in KEYS:
            err(line, f"unknown key '{key}'")
            continue
        attr_rule, attr_values, ops = KEYS[key]
        if has_attr and attr_rule is None:
            err(line, f"{key} takes no {{attribute}}")
        if not has_attr and attr_rule == "req":
            err(line, f"{key} needs an {{attribute}}")
        if has_attr and not attr:
            err(line, f"{key}: empty {{attribute}}")
        if has_attr and attr and attr_values is not None and attr not in attr_values:
            if not (key == "TEST" and re.fullmatch(r"[0-7]+", attr)):
                err(line, f"{key}{{{attr}}}: attribute must be one of {sorted(attr_values)}")
        if key == "TEST" and has_attr and attr and not re.fullmatch(r"[0-7]+", attr):
            err(line, "TEST{MODE}: the attribute is an octal mode")
        if op not in ops:
            err(line, f"operator '{op}' is not valid for {key} (valid: {' '.join(sorted(ops))})")
        if key == "MODE" and not re.fullmatch(r"[0-7]{3,4}", value) and "$" not in value \
                and "%" not in value:
            err(line, f"MODE must be an octal mode such as 0660, not {value!r}")
        if key in ("OWNER", "GROUP", "LABEL", "GOTO", "NAME", "PROGRAM") and op != "!=" \
                and value == "" and key != "NAME":
            err(line, f"{key} has an empty value")
        if key == "OPTIONS":
            for opt in value.split(","):
                if not OPTIONS.match(opt.strip()):
                    err(line, f"unknown OPTIONS value {opt.strip()!r}")
        if key == "SYMLINK" and op in ASSIGN:
            for link in value.split():
                if link.startswith("/") or ".." in link.split("/"):
                    err(line, f"SYMLINK {link!r} must be relative to /dev without '..'")
        if key not in ("LABEL", "GOTO"):
            check_substitutions(line, key, value)


def main():
    with open(path, encoding="utf-8", errors="strict") as f:
        raw = f.read().split("\n")
    logical = []  # (first physical line number, text)
    i = 0
    while i < len(raw):
        start = i + 1
        text = raw[i]
        while text.endswith("\\"):
            i += 1
            if i >= len(raw) or raw[i] == "" and i == len(raw) - 1:
                err(start, "line continuation '\\' at the end of the file")
                break
            nxt = raw[i]
            if nxt.lstrip().startswith("#"):
                err(i + 1, "a comment inside a continued line")
            text = text[:-1] + nxt
        logical.append((start, text))
        i += 1

    labels = {}
    gotos = []
    for index, (line, text) in enumerate(logical):
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        rule = []
        parse_rule(line, stripped, rule)
        if not rule:
            continue
        for key, _attr, _op, value in rule:
            if key == "LABEL":
                if value in labels:
                    err(line, f"LABEL {value!r} already defined at line {labels[value][0]}")
                labels[value] = (line, index)
            elif key == "GOTO":
                gotos.append((line, index, value))
    for line, index, target in gotos:
        if target not in labels:
            err(line, f"GOTO {target!r} has no LABEL")
        elif labels[target][1] < index:
            err(line, f"GOTO {target!r} jumps backwards (udev only jumps forward)")

    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    rules = sum(1 for _l, t in logical if t.strip() and not t.strip().startswith("#"))
    print(f"strict parser: {path}: {rules} rules, no error")
    return 0


sys.exit(main())
PY
  failed=1
fi

if [ "$failed" != 0 ]; then
  echo "udev rules check FAILED: $file" >&2
  exit 1
fi
echo "udev rules check passed: $file"
