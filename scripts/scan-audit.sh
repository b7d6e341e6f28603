#!/usr/bin/env bash
# Scans Arca audit logs for leaked credentials: "never a secret value, key material,
# password, client secret or token" in the audit log. scripts/test-clients.sh runs it
# over every audit log its client suites wrote (ARCA_AUDIT_DIR, filled by start_arca in
# scripts/lib.sh and by tests/python/conftest.py).
#
#   scripts/scan-audit.sh [DIR]     scan DIR/*.log and rotated DIR/*.log.N (default $ARCA_AUDIT_DIR)
#   scripts/scan-audit.sh --self-test
#                                   crafted logs: a clean one must pass, each leak must fail
#
# Every line must be a JSON object in the AuditEvent shape Arca writes (audit.Event,
# rest/audit.go): the required fields with the right types and no field outside the
# lists below (a new field means a review of what it can carry, then an entry here).
# No line may contain (as is, or in the string values after JSON decoding):
#   - a JWT, a PEM block, "PRIVATE KEY", "Bearer <token>", base64 DER (MII...);
#   - a credential query parameter (client_secret, client_assertion, assertion, password,
#     code, refresh_token, access_token, id_token, device_code, token, sig) whose value
#     is not REDACTED;
#   - the marker arca-canary (the secret values and passwords of our own client tests
#     contain it) or any needle: scripts/audit-canaries.txt (fixed values the suites
#     send, e.g. the Go SDK live suites' secret values) and DIR/needles.txt (each
#     deployment's client secret, managed identity header and root key, generated user
#     passwords), each as is, base64, base64url and percent-encoded.
# Reports name the file, line and kind of leak, never the leaked value. The last line
# on stdout is the summary: "audit log scan: N files, M lines, no leaks". Exit 1 on any
# problem (or when DIR holds no audit log, or no needles.txt).
#
#   ARCA_AUDIT_CANARIES=FILE   the fixed needle list (default scripts/audit-canaries.txt)
#   ARCA_AUDIT_MAX_REPORTS=40  problems printed (all are counted)
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CANARIES=${ARCA_AUDIT_CANARIES:-$HERE/audit-canaries.txt}
MIN_NEEDLE=8      # shorter needles are too generic to search for
MAX_REPORTS=${ARCA_AUDIT_MAX_REPORTS:-40}    # problem lines printed (all are counted)

say() { printf '[scan-audit] %s\n' "$*" >&2; }

# AuditEvent fields (audit.Event, rest/audit.go auditRequest).
REQUIRED='["time","category","operationName","resourceId","resultType","resultSignature","durationMs","callerIpAddress","correlationId","properties"]'
ALLOWED_TOP='["time","category","operationName","operationVersion","resourceId","resultType","resultSignature","resultDescription","durationMs","callerIpAddress","correlationId","identity","properties"]'
ALLOWED_PROPS='["id","requestUri","httpStatusCode","clientInfo","isAccessPolicyMatch"]'
ALLOWED_CLAIMS='["oid","appid","tid"]'

# Leak patterns (ERE), searched in the raw lines and in the decoded string values.
KINDS=("JWT" "PEM block" "private key" "Bearer token" "base64 DER (certificate or key material)")
PATTERNS=('eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.' '-----BEGIN' 'PRIVATE KEY' '[Bb]earer( |%20|\+)[A-Za-z0-9]' 'MII[A-Za-z0-9+/_-]{60,}')
# Credential parameters: NAME=VALUE after ?, &, ; or a JSON-escaped & (\u0026).
U='(_|%5[Ff])'
PARAM_RE="(^|[?&;]|\\\\u0026)(client${U}secret|client${U}assertion|assertion|password|passwd|code|refresh${U}token|access${U}token|id${U}token|device${U}code|token|sig)=[^&#\"\\ ]*"
MARKER=arca-canary

# The jq program: per input line, P lines (structural problems), exactly one D line (the
# line's string values, decoded, joined), an O line (operationName).
read -r -d '' JQ_PROG <<'JQ'
# short: a field name as reported (at most 12 characters: a name could be a value)
def short: if length > 12 then .[:12] + "..." else . end;
def problems:
  if type != "object" then "not a JSON object"
  else
    (($required - keys)[] | "missing field \(.)"),
    ((keys - $top)[] | "unexpected field \(short)"),
    (select(has("time") and ((.time | type) != "string" or (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$") | not)))
      | "time is not an RFC 3339 timestamp"),
    (select(has("category") and .category != "AuditEvent") | "category is not AuditEvent"),
    (.operationName as $v | select(has("operationName") and (($v | type) != "string" or ($v | length) == 0)) | "operationName is not a non-empty string"),
    (select(has("resourceId") and (.resourceId | type) != "string") | "resourceId is not a string"),
    (select(has("resultType") and ([.resultType] | inside(["Success","Unauthorized","Forbidden","NotFound","BadRequest","Failure"]) | not))
      | "resultType is not one of Success, Unauthorized, Forbidden, NotFound, BadRequest, Failure"),
    (select(has("resultSignature") and (.resultSignature | type) != "string") | "resultSignature is not a string"),
    (select(has("durationMs") and ((.durationMs | type) != "number" or .durationMs < 0)) | "durationMs is not a number >= 0"),
    (.callerIpAddress as $v | select(has("callerIpAddress") and (($v | type) != "string" or ($v | length) == 0)) | "callerIpAddress is not a non-empty string"),
    (.correlationId as $v | select(has("correlationId") and (($v | type) != "string" or ($v | length) == 0)) | "correlationId is not a non-empty string"),
    (select(has("identity")) | .identity |
      if type != "object" or (.claim | type) != "object" then "identity is not {\"claim\": {...}}"
      else (((.claim | keys) - $claims)[] | "unexpected identity claim \(short)"),
           (select([.claim[] | type] | any(. != "string")) | "identity claim value is not a string")
      end),
    (select(has("properties")) | .properties |
      if type != "object" then "properties is not an object"
      else ((keys - $props)[] | "unexpected field properties.\(short)"),
           (select((.requestUri | type) != "string" or (.requestUri | startswith("https://") | not)) | "properties.requestUri is not an https URI"),
           (select((.httpStatusCode | type) != "number" or .httpStatusCode < 100 or .httpStatusCode > 599) | "properties.httpStatusCode is not an HTTP status"),
           (select(has("id") and (.id | type) != "string") | "properties.id is not a string"),
           (select(has("clientInfo") and (.clientInfo | type) != "string") | "properties.clientInfo is not a string"),
           (select(has("isAccessPolicyMatch") and (.isAccessPolicyMatch | type) != "boolean") | "properties.isAccessPolicyMatch is not a boolean")
      end)
  end;
input_line_number as $n
| (if . == "" then null else (try (fromjson | [.]) catch null) end) as $w
| if $w == null then "P\t\($n)\tnot valid JSON", "D\t"
  else $w[0] as $e
  | ($e | problems | "P\t\($n)\t\(gsub("[\t\n\r]"; " "))"),
    ("D\t" + ([$e | .. | strings] | join(" ") | gsub("[\n\r\t]"; " "))),
    ($e | select(type == "object" and (.operationName | type) == "string") | "O\t\(.operationName)")
  end
JQ

# needle_variants: stdin "LABEL<TAB>VALUE" lines (comments, blanks, values shorter than
# MIN_NEEDLE dropped, each value once) -> stdout "LABEL (FORM)<TAB>VARIANT" lines: the
# value, its base64 and base64url (the first floor(bytes/3)*4 characters: fixed when the
# value starts the encoded field) and its percent-encoding.
needle_variants() {
  jq -R -s -r --argjson min "$MIN_NEEDLE" '
    split("\n") | map(select(length > 0 and (startswith("#") | not) and contains("\t"))
                      | split("\t") | {label: .[0], value: (.[1:] | join("\t"))})
    | (map(select((.value | length) < $min)) | length) as $short
    | (if $short > 0 then "#short\t\($short)" else empty end),
      (map(select((.value | length) >= $min)) | unique_by(.value) | .[]
       | .label as $l | .value as $v
       | ($v | @base64 | .[:(($v | utf8bytelength) / 3 | floor) * 4]) as $b
       | ($b | gsub("\\+"; "-") | gsub("/"; "_")) as $u
       | ($v | @uri) as $p
       | "\($l)\t\($v)", "\($l) (base64)\t\($b)",
         (select($u != $b) | "\($l) (base64url)\t\($u)"),
         (select($p != $v) | "\($l) (percent-encoded)\t\($p)"))'
}

scan() {
  local dir=${1%/} rel ln
  [ -d "$dir" ] || { say "no such directory: $dir"; echo "audit log scan: no directory $dir"; return 1; }
  local tmp=$WORKTMP/scan
  mkdir -p "$tmp" || return 1

  local files=()
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$dir" -maxdepth 1 -type f \( -name '*.log' -o -name '*.log.[0-9]*' \) -print0 | sort -z)
  if [ ${#files[@]} -eq 0 ]; then
    say "FAIL: no audit log in $dir (did the suites start Arca with ARCA_AUDIT_DIR set?)"
    echo "audit log scan: 0 files, no audit log to scan"
    return 1
  fi

  { cat "$CANARIES" 2>/dev/null || say "note: no canary list $CANARIES"
    [ -f "$dir/needles.txt" ] && cat "$dir/needles.txt"
    true; } | needle_variants >"$tmp/variants" || { say "could not read the needle lists"; return 1; }
  grep -v '^#short' "$tmp/variants" >"$tmp/needles"
  local short; short=$(sed -n 's/^#short\t//p' "$tmp/variants")
  [ -z "$short" ] || say "note: $short needle(s) shorter than $MIN_NEEDLE characters not searched"
  cut -f2- "$tmp/needles" >"$tmp/needle-values"
  local nneedles; nneedles=$(grep -c '' "$tmp/needles")

  # All files' lines, newline-terminated, go into one stream (raw) and their string
  # values, decoded by jq, into another (decoded, one line per raw line); both are
  # searched once, and index maps a stream line to FILE<TAB>LINE for the reports.
  : >"$tmp/reports"; : >"$tmp/greports"
  # the suites record each deployment's credentials: none means the collection is broken
  [ -s "$dir/needles.txt" ] || printf '%s\t0\tno needles.txt: no deployment credentials were recorded to search for\n' needles.txt >>"$tmp/reports"
  awk -v dir="$dir/" -v raw="$tmp/raw" -v idx="$tmp/index" '
    { print > raw; print substr(FILENAME, length(dir) + 1) "\t" FNR > idx }' "${files[@]}" </dev/null
  : >>"$tmp/raw"; : >>"$tmp/index"
  local total; total=$(grep -ac '' "$tmp/index")
  if ! jq -R -r --argjson required "$REQUIRED" --argjson top "$ALLOWED_TOP" --argjson props "$ALLOWED_PROPS" \
      --argjson claims "$ALLOWED_CLAIMS" "$JQ_PROG" "$tmp/raw" >"$tmp/out" 2>"$tmp/jq.err"; then
    printf '%s\t0\tjq could not read the logs: %s\n' "-" "$(head -c 200 "$tmp/jq.err" | tr '\n\t' '  ')" >>"$tmp/reports"
  fi
  sed -n 's/^D\t//p' "$tmp/out" >"$tmp/decoded"
  sed -n 's/^O\t//p' "$tmp/out" >"$tmp/ops"
  sed -n 's/^P\t//p' "$tmp/out" >>"$tmp/greports"
  if [ "$(grep -ac '' "$tmp/decoded")" -ne "$total" ]; then
    printf '%s\t0\tjq decoded %s of %s lines\n' "-" "$(grep -ac '' "$tmp/decoded")" "$total" >>"$tmp/reports"
    cp "$tmp/raw" "$tmp/decoded"
  fi

  local src i label value
  at() { cut -d: -f1 | awk -v w="$1" '{print $0 "\t" w}' >>"$tmp/greports"; } # at WHAT: stream lines (grep -n) -> greports
  for src in "$tmp/raw" "$tmp/decoded"; do
    for i in "${!PATTERNS[@]}"; do grep -anE -e "${PATTERNS[$i]}" "$src" | at "${KINDS[$i]}"; done
    # credential parameters: report the name, never the value
    grep -anoiE -e "$PARAM_RE" "$src" | awk '{
      i = index($0, ":"); ln = substr($0, 1, i - 1); m = substr($0, i + 1)
      j = index(m, "="); name = substr(m, 1, j - 1); v = substr(m, j + 1)
      sub(/^.*[?&;]/, "", name); sub(/^\\u0026/, "", name)
      if (v != "" && v != "REDACTED") print ln "\tcredential parameter " name "= with a value (not REDACTED)"
    }' >>"$tmp/greports"
    grep -aniF -e "$MARKER" -e "YXJjYS1jYW5hcnkt" "$src" | at "the test marker $MARKER (a test secret value or password)"
    if [ "$nneedles" -gt 0 ] && grep -aqF -f "$tmp/needle-values" "$src"; then
      while IFS=$'\t' read -r label value; do
        grep -anF -e "$value" "$src" | at "needle \"$label\" (${#value} characters)"
      done <"$tmp/needles"
    fi
  done
  awk -F'\t' 'NR == FNR { idx[NR] = $1 "\t" $2; next } { print idx[$1] "\t" $2 }' "$tmp/index" "$tmp/greports" >>"$tmp/reports"

  local nops; nops=$(sort -u "$tmp/ops" | grep -c '')
  say "scanned ${#files[@]} files, $total lines, $nneedles needle forms; $nops operations, most frequent:"
  sort "$tmp/ops" | uniq -c | sort -rn | head -n 12 | awk '{printf "  %7d %s\n", $1, $2}' >&2
  for f in "${files[@]}"; do
    case $f in *.log.5) say "note: ${f#"$dir"/} exists: a log rotated 5 times may have dropped its oldest lines" ;; esac
  done
  # a line found in the raw and the decoded text is one problem
  sort -t$'\t' -k1,1 -k2,2n -k3 -u "$tmp/reports" >"$tmp/problems"
  local problems; problems=$(grep -c '' "$tmp/problems")
  if [ "$problems" -gt 0 ]; then
    local what
    while IFS=$'\t' read -r rel ln what; do say "FAIL $dir/$rel:$ln: $what"; done < <(head -n "$MAX_REPORTS" "$tmp/problems")
    [ "$problems" -le "$MAX_REPORTS" ] || say "... and $((problems - MAX_REPORTS)) more"
    echo "audit log scan: ${#files[@]} files, $total lines, $problems problems (leaked credentials or malformed lines; see above)"
    return 1
  fi
  echo "audit log scan: ${#files[@]} files, $total lines, no leaks"
}

# self_test: crafted logs. The clean log must pass; each case (the clean log plus one
# bad line, or a file change) must fail, and no output may contain a needle in full.
self_test() {
  local tmp=$WORKTMP/self-test
  mkdir -p "$tmp" || return 1
  local rnd; rnd=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
  local needle="SelfTestSecret~$rnd" needle2="self test/pw $rnd"
  local b64url; b64url=$(printf '%s' "$needle" | base64 -w0 | tr '+/' '-_')
  local pct; pct=$(jq -rn --arg v "$needle2" '$v | @uri')
  local jwt="eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzZWxmLXRlc3QiLCJhdWQiOiJodHRwczovL3ZhdWx0In0.c2lnbmF0dXJl"
  local ok='{"time":"2025-01-02T03:04:05.123456789Z","category":"AuditEvent","operationName":"SecretSet","operationVersion":"7.6","resourceId":"/subscriptions/s/resourceGroups/arca/providers/Microsoft.KeyVault/vaults/arca","resultType":"Success","resultSignature":"OK","durationMs":3,"callerIpAddress":"127.0.0.1","correlationId":"c-1","identity":{"claim":{"appid":"a","oid":"o","tid":"t"}},"properties":{"clientInfo":"azsdk-python-keyvault-secrets/4.9.0","httpStatusCode":200,"id":"https://arca.vault.localhost:8443/secrets/s1","isAccessPolicyMatch":true,"requestUri":"https://arca.vault.localhost:8443/secrets/s1?api-version=7.6"}}'
  local ok2='{"time":"2025-01-02T03:04:06Z","category":"AuditEvent","operationName":"TokenServiceRequest","resourceId":"","resultType":"BadRequest","resultSignature":"Bad Request","durationMs":0,"callerIpAddress":"::1","correlationId":"r-2","properties":{"clientInfo":"curl/8","httpStatusCode":400,"id":"https://localhost:8443/adfs/oauth2/authorize","requestUri":"https://localhost:8443/adfs/oauth2/authorize?client_secret=REDACTED\u0026code=REDACTED\u0026code_challenge=abc\u0026state=xyz"}}'
  # tpl VALUE-FOR-clientInfo: a valid line carrying VALUE (JSON-escaped)
  tpl() { jq -c --arg v "$1" '.properties.clientInfo = $v' <<<"$ok"; }
  uri() { jq -c --arg v "$1" '.properties.requestUri = $v' <<<"$ok"; }

  local cases=() names=()
  add() { names+=("$1"); cases+=("$2"); }
  add "JWT in a field" "$(tpl "x $jwt")"
  add "needle in the request URI" "$(uri "https://arca.vault.localhost/secrets/$needle")"
  add "needle base64url-encoded" "$(tpl "$b64url")"
  add "needle percent-encoded" "$(uri "https://arca.vault.localhost/secrets/x?q=$pct")"
  add "fixed canary (Go live suite value)" "$(tpl "value1387819847")"
  add "test marker" "$(tpl "ARCA-CANARY-hunter2")"
  add "PEM block" "$(tpl $'-----BEGIN CERTIFICATE-----\nMIIB')"
  add "private key" "$(tpl "EC PRIVATE KEY")"
  add "Bearer token" "$(tpl "Bearer abcdefgh")"
  add "base64 DER" "$(tpl "MIIJsQIBAzCCCXcGCSqGSIb3DQEHAaCCCWgEgglkMIIJYDCCBBcGCSqGSIb3DQEHBqCCBAgwggQEAgEAMIID")"
  add "client_secret after \\u0026" "$(uri "https://localhost/adfs/oauth2/token?a=1&client_secret=s3")"
  add "code after ?" "$(uri "https://localhost/adfs/oauth2/authorize?code=abc")"
  add "percent-encoded parameter name" "$(uri "https://localhost/x?client%5Fsecret=abc")"
  add "password in a decoded value" "$(tpl "a;password=hunter")"
  add "invalid JSON" '{"time":"2025-01-02T03:04:05Z","category":"AuditEvent",'
  add "not an object" '["AuditEvent"]'
  add "empty line" ''
  add "missing correlationId" "$(jq -c 'del(.correlationId)' <<<"$ok")"
  add "missing properties.requestUri" "$(jq -c 'del(.properties.requestUri)' <<<"$ok")"
  add "unexpected field" "$(jq -c '.properties.requestBody = "{}"' <<<"$ok")"
  add "needle as a field name" "$(jq -c --arg k "$needle" '.properties[$k] = 1' <<<"$ok")"
  add "unexpected claim" "$(jq -c '.identity.claim.password = "x"' <<<"$ok")"
  add "bad resultType" "$(jq -c '.resultType = "Maybe"' <<<"$ok")"
  add "bad time" "$(jq -c '.time = "yesterday"' <<<"$ok")"

  local fails=0 out rc i
  fail() { say "self-test FAIL: $*"; fails=$((fails + 1)); }
  write_clean() { # write_clean DIR: two clean logs (one rotated) and the needles
    mkdir -p "$1"
    printf '%s\n%s\n' "$ok" "$ok2" >"$1/a.log"
    printf '%s\n' "$ok2" >"$1/b.log.1"
    printf 'self-test needle\t%s\nself-test needle 2\t%s\nshort\tabc\n' "$needle" "$needle2" >"$1/needles.txt"
  }
  run_scan() { # run_scan DIR: sets out (stdout and stderr) and rc
    out=$(ARCA_AUDIT_MAX_REPORTS=100000 bash "${BASH_SOURCE[0]}" "$1" 2>&1); rc=$?
    if [[ $out == *"$needle"* || $out == *"$needle2"* || $out == *"$jwt"* ]]; then fail "the output for $1 shows a leaked value"; fi
  }

  # clean logs pass, with the exact summary
  write_clean "$tmp/clean"
  run_scan "$tmp/clean"
  [ "$rc" -eq 0 ] && [ "${out##*$'\n'}" = "audit log scan: 2 files, 3 lines, no leaks" ] \
    || { fail "clean logs: exit $rc:"; printf '%s\n' "$out" | sed 's/^/    /' >&2; }

  # one scan over the clean logs plus one file per case (a clean line, then the bad
  # line): it fails, names line 2 of every case file and nothing in the clean files
  write_clean "$tmp/bad"
  for i in "${!cases[@]}"; do printf '%s\n%s\n' "$ok" "${cases[$i]}" >"$tmp/bad/case-$i.log"; done
  printf '%s\n%s\n' "$ok" "$(tpl "$jwt")" >"$tmp/bad/rotated.log.2"; names+=("JWT in a rotated file")
  printf '%s' "$ok" >"$tmp/bad/a-no-final-newline.log" # must not shift the next file's line numbers
  run_scan "$tmp/bad"
  [ "$rc" -ne 0 ] || fail "the leaks passed"
  for i in "${!names[@]}"; do
    local f="case-$i.log"; [ "$i" -lt ${#cases[@]} ] || f=rotated.log.2
    grep -qF "FAIL $tmp/bad/$f:2: " <<<"$out" || fail "${names[$i]}: not reported"
  done
  ! grep -qE "FAIL $tmp/bad/(a\.log|b\.log\.1|a-no-final-newline\.log):|:1: " <<<"$out" \
    || fail "a clean line reported: $(grep -E "/(a\.log|b\.log\.1|a-no-final-newline\.log):|:1: " <<<"$out" | head -3)"

  # no audit log, no directory: failures
  mkdir -p "$tmp/empty"; cp "$tmp/clean/needles.txt" "$tmp/empty/"
  run_scan "$tmp/empty"; [ "$rc" -ne 0 ] || fail "a directory without audit logs passed"
  run_scan "$tmp/missing"; [ "$rc" -ne 0 ] || fail "a missing directory passed"
  write_clean "$tmp/noneedles"; rm "$tmp/noneedles/needles.txt"
  run_scan "$tmp/noneedles"; [ "$rc" -ne 0 ] || fail "logs without needles.txt passed"

  local n=$(( ${#names[@]} + 4 ))
  if [ $fails -gt 0 ]; then
    echo "audit log scanner self-test: $fails failures in $n cases"
    return 1
  fi
  echo "audit log scanner self-test: $n cases OK (clean logs pass, each leak fails)"
}

WORKTMP=$(mktemp -d) || exit 1
trap 'rm -rf "$WORKTMP"' EXIT
case "${1:-}" in
  --self-test) self_test ;;
  -h|--help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' ;;
  *) scan "${1:-${ARCA_AUDIT_DIR:-}}" ;;
esac
