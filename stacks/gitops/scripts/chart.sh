#!/bin/sh
# chart.sh check|apply: the application's Helm chart (the shape of a team's hand-made chart: Chart.yaml,
# values.yaml, templates/deployment.yaml, templates/service.yaml) on the main branch of its repository.
# islet owns every file but the image tag in values.yaml, which Image Updater writes back.
# check: the repository's main branch holds the chart as islet renders it (the tag aside).
# apply: renders it into a clone, keeps the tag already there, commits and pushes when something changed.
# Git authenticates as the machine user through GIT_ASKPASS: the token is never in a command line or a URL.
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/askpass" <<'ASKPASS'
#!/bin/sh
case "$1" in Username*) printf '%s\n' "$ISLET_GIT_USER" ;; *) printf '%s\n' "$ISLET_GIT_PASSWORD" ;; esac
ASKPASS
chmod 0700 "$work/askpass"
export GIT_ASKPASS="$work/askpass" ISLET_GIT_USER="$BOT" ISLET_GIT_PASSWORD="$TOKEN" GIT_TERMINAL_PROMPT=0
export GIT_AUTHOR_NAME=islet GIT_AUTHOR_EMAIL=islet@noreply.islet.internal
export GIT_COMMITTER_NAME=islet GIT_COMMITTER_EMAIL=islet@noreply.islet.internal

# The image reference's repository and tag (latest when it names none).
repository=$IMAGE tag=latest
case "${IMAGE##*/}" in *:*) repository=${IMAGE%:*} tag=${IMAGE##*:} ;; esac

# render DIR TAG: the chart, with TAG as the image tag.
render() {
  mkdir -p "$1/templates"
  cat > "$1/Chart.yaml" <<CHART
# Written by islet (stack gitops): the chart of $APP.
apiVersion: v2
name: $APP
description: $APP, deployed by Argo CD from this repository
type: application
version: 0.1.0
appVersion: "1.0.0"
CHART
  cat > "$1/values.yaml" <<VALUES
# Written by islet (stack gitops). Image Updater writes image.tag when a new image is pushed.
image:
  repository: $repository
  tag: "$2"
replicaCount: $REPLICAS
service:
  port: $APP_PORT
VALUES
  cat > "$1/templates/deployment.yaml" <<'DEPLOYMENT'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Chart.Name }}
  labels:
    app: {{ .Chart.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app: {{ .Chart.Name }}
  template:
    metadata:
      labels:
        app: {{ .Chart.Name }}
    spec:
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          ports:
            - containerPort: {{ .Values.service.port }}
DEPLOYMENT
  cat > "$1/templates/service.yaml" <<'SERVICE'
apiVersion: v1
kind: Service
metadata:
  name: {{ .Chart.Name }}
spec:
  selector:
    app: {{ .Chart.Name }}
  ports:
    - port: {{ .Values.service.port }}
      targetPort: {{ .Values.service.port }}
SERVICE
}

# The tag a values.yaml holds.
tag_of() { sed -n 's/^  tag: "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$1" 2> /dev/null | head -n 1; }

git clone --quiet --branch main "$URL" "$work/repo" 2> "$work/clone.log" || {
  [ "$1" = check ] && exit 1
  # An empty repository has no main branch yet.
  rm -rf "$work/repo"
  git clone --quiet "$URL" "$work/repo" || { cat "$work/clone.log"; exit 1; }
}
current=$(tag_of "$work/repo/values.yaml")
render "$work/want" "${current:-$tag}"

if [ "$1" = check ]; then
  for file in Chart.yaml values.yaml templates/deployment.yaml templates/service.yaml; do
    cmp -s "$work/want/$file" "$work/repo/$file" || exit 1
  done
  # Where the team pushes the application's images.
  echo "IMAGE=$repository" >> "$ISLET_OUTPUT"
  exit 0
fi
cp -R "$work/want/." "$work/repo/"
cd "$work/repo"
git add -A
if ! git diff --cached --quiet 2> /dev/null || ! git rev-parse --verify -q HEAD > /dev/null; then
  git commit --quiet -m "islet: chart of $APP"
fi
git push --quiet origin HEAD:refs/heads/main
echo "IMAGE=$repository" >> "$ISLET_OUTPUT"
