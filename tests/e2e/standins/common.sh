# Shared helpers for dfix's stand-in tools (busybox sh). Installed as /usr/local/lib/dfix/common.sh.
# Every fetch goes to the private artifact server baked into the image, whatever host the tool
# was given: https://HOST/PATH becomes http://SERVER/HOST/PATH with the same credentials.
DFIX_SERVER=$(cat /etc/dfix-artifact-server 2>/dev/null)
HOME=${HOME:-/root}
DFIX_PUBLIC_HOSTS="registry.npmjs.org registry.yarnpkg.com registry.npmmirror.com pypi.org pypi.python.org files.pythonhosted.org proxy.golang.org repo.maven.apache.org repo1.maven.org plugins.gradle.org maven.google.com dl.google.com"

dfix_die() { echo "$DFIX_TOOL: $*" >&2; exit "${DFIX_STATUS:-1}"; }
dfix_note() { echo "$DFIX_TOOL (dfix stand-in): $*" >&2; }

# dfix_split_url URL: sets U_SCHEME U_USERINFO U_HOST U_PATH
dfix_split_url() {
  case $1 in
    *://*) U_SCHEME=${1%%://*}; _rest=${1#*://} ;;
    *) U_SCHEME=https; _rest=$1 ;;
  esac
  _hp=${_rest%%/*}
  U_PATH=${_rest#"$_hp"}
  case $_hp in
    *@*) U_USERINFO=${_hp%@*}; U_HOST=${_hp##*@} ;;
    *) U_USERINFO=; U_HOST=$_hp ;;
  esac
}

dfix_urldecode() {
  printf '%b' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/%\([0-9A-Fa-f][0-9A-Fa-f]\)/\\x\1/g')"
}

dfix_b64() { printf '%s' "$1" | base64 -w 0; }

dfix_is_public() {
  _h=${1%%:*}
  for _p in $DFIX_PUBLIC_HOSTS; do [ "$_h" = "$_p" ] && return 0; done
  return 1
}

# dfix_expand STRING: expand ${NAME} from the environment (npm, yarn, pip requirement files do).
# An unset variable is an error, as in npm ("Failed to replace env in config").
dfix_expand() {
  _s=$1; _out=
  while :; do
    case $_s in *'${'*'}'*) ;; *) break ;; esac
    _pre=${_s%%'${'*}; _r=${_s#*'${'}; _name=${_r%%'}'*}; _s=${_r#*'}'}
    _name=${_name%'?'}
    case $_name in
      ''|[0-9]*|*[!A-Za-z0-9_]*) _out="$_out$_pre\${$_name}"; continue ;;
    esac
    eval "_set=\${$_name+x}"
    if [ -z "$_set" ]; then
      echo "$DFIX_TOOL: Failed to replace env in config: \${$_name}" >&2
      return 1
    fi
    eval "_val=\${$_name}"
    _out="$_out$_pre$_val"
  done
  printf '%s' "$_out$_s"
}

# dfix_netrc HOST: print "login:password" for HOST from $NETRC or ~/.netrc
dfix_netrc() {
  _f=${NETRC:-$HOME/.netrc}
  [ -r "$_f" ] || return 1
  awk -v host="$1" '
    { for (i = 1; i <= NF; i++) t[n++] = $i }
    END {
      b = -1
      for (i = 0; i < n; i++) if (t[i] == "machine" && t[i+1] == host) { b = i + 2; break }
      if (b < 0) for (i = 0; i < n; i++) if (t[i] == "default") { b = i + 1; break }
      if (b < 0) exit 1
      for (i = b; i < n; i++) {
        if (t[i] == "machine" || t[i] == "default") break
        if (t[i] == "login") login = t[++i]
        else if (t[i] == "password") pw = t[++i]
        else if (t[i] == "account") i++
      }
      print login ":" pw
    }' "$_f"
}

# dfix_fetch URL OUTFILE [HEADER...]: GET through the artifact server. Basic auth from the URL's
# user-info. Returns non-zero on 401 or when the server cannot be reached.
dfix_fetch() {
  _url=$1; _o=$2; shift 2
  [ -n "$DFIX_SERVER" ] || dfix_die "no artifact server configured in /etc/dfix-artifact-server"
  dfix_split_url "$_url"
  _target="http://$DFIX_SERVER/$U_HOST$U_PATH"
  if [ -n "$U_USERINFO" ]; then
    case $U_USERINFO in *:*) _ui=$U_USERINFO ;; *) _ui="$U_USERINFO:" ;; esac
    set -- "$@" "Authorization: Basic $(dfix_b64 "$(dfix_urldecode "$_ui")")"
  fi
  for _h; do shift; set -- "$@" --header "$_h"; done
  # (busybox 1.35 wget crashes with -T; bound the time with timeout instead)
  if timeout 30 wget -q -O "$_o" "$@" "$_target" 2>/dev/null; then
    return 0
  fi
  rm -f "$_o"
  echo "$DFIX_TOOL: GET $U_SCHEME://$U_HOST$U_PATH: 401 Unauthorized (or server unreachable)" >&2
  return 1
}

# dfix_xml FILE: the elements of a small XML file (pom.xml, settings.xml) as lines, in document
# order: "+/a/b" when an element opens, "/a/b<TAB>text" for its text. Comments, processing
# instructions and attributes are dropped; &amp; &lt; &gt; &quot; &apos; are decoded.
dfix_xml() {
  tr '\r\n\t' '   ' < "$1" | awk '
    { s = s $0 " " }
    END {
      while ((i = index(s, "<!--")) > 0) {
        rest = substr(s, i + 4); j = index(rest, "-->")
        s = substr(s, 1, i - 1) (j > 0 ? substr(rest, j + 3) : "")
      }
      path = ""
      while (match(s, /<[^>]*>/)) {
        text = substr(s, 1, RSTART - 1); tag = substr(s, RSTART + 1, RLENGTH - 2)
        s = substr(s, RSTART + RLENGTH)
        gsub(/^ +| +$/, "", text)
        if (text != "" && path != "") {
          gsub(/&lt;/, "<", text); gsub(/&gt;/, ">", text); gsub(/&quot;/, "\"", text)
          gsub(/&apos;/, "\047", text); gsub(/&amp;/, "\\&", text)
          print path "\t" text
        }
        if (tag ~ /^[?!]/) continue
        if (tag ~ /^\//) { sub(/\/[^\/]*$/, "", path); continue }
        name = tag; sub(/[ \/].*/, "", name); sub(/^.*:/, "", name)
        if (tag ~ /\/$/) { print "+" path "/" name; continue }
        path = path "/" name
        print "+" path
      }
    }'
}

# dfix_tree DIR...: "path size" of every regular file below each DIR, sorted (deterministic
# summaries for the stand-ins' outputs).
dfix_tree() {
  for _d; do [ -d "$_d" ] && find "$_d" -type f -exec wc -c {} + 2>/dev/null | awk '$2 != "total" { print $2, $1 }'; done | sort
}
