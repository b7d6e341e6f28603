#!/usr/bin/env bash
# A stand-in for a person with a browser, used as $BROWSER for interactive `az login`:
# opens the authorization URL (Arca's sign-in page), submits the form with the user's
# name and password (ARCA_AZ_USER / ARCA_AZ_PASSWORD), then does what the answer's
# script does: posts the code (response_mode=form_post) to az's loopback listener.
# Runs in the background, as a browser would.
set -uo pipefail
url=$1
(
  set -e
  # fields FILE: "name<TAB>value" of the hidden inputs of an HTML page
  fields() {
    python3 -c '
import html, re, sys
for k, v in re.findall(r"<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\"", open(sys.argv[1]).read()):
    print(html.unescape(k) + "\t" + html.unescape(v))' "$1"
  }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  curl -sS --fail --cacert "$REQUESTS_CA_BUNDLE" "$url" -o "$tmp/signin.html"
  args=()
  while IFS=$'\t' read -r k v; do args+=(--data-urlencode "$k=$v"); done < <(fields "$tmp/signin.html")
  curl -sS --fail --cacert "$REQUESTS_CA_BUNDLE" -o "$tmp/answer.html" "${args[@]}" \
    --data-urlencode "username=$ARCA_AZ_USER" --data-urlencode "password=$ARCA_AZ_PASSWORD" "${url%%\?*}"
  action=$(python3 -c '
import html, re, sys
print(html.unescape(re.search(r"<form method=\"post\" name=\"hiddenform\" action=\"([^\"]+)\"", open(sys.argv[1]).read()).group(1)))' "$tmp/answer.html")
  args=()
  while IFS=$'\t' read -r k v; do args+=(--data-urlencode "$k=$v"); done < <(fields "$tmp/answer.html")
  curl -sS -o /dev/null "${args[@]}" "$action"
) >"${ARCA_AZ_BROWSER_LOG:-/dev/null}" 2>&1 &
exit 0
