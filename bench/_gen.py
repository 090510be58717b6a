"""Generate a synthetic monorepo of N Dockerfiles for bench/scale.py.

Layout (deterministic for a given N and seed)::

    ROOT/.gitignore                         (ignores build/ and *.log)
    ROOT/node_modules/x/Dockerfile          (must be skipped by discovery)
    ROOT/build/Dockerfile                   (gitignored: must be skipped)
    ROOT/services/g007/svc-00042/Dockerfile (+ a small app file per service)
    ROOT/services/g007/svc-00043/Dockerfile.dev   (every 10th service also has a -dev variant)

Files are rendered from templates: a mix of Dockerfiles that pass a secret as a build arg (npm
token, composite pip index URL, Artifactory header, go private modules, AWS keys, …) and clean ones
(python, node, go multi-stage, nginx, versioned ARGs). Every file differs (service name, versions,
a comment) so no layer of dfix can get away with caching whole files. Names of variables repeat, as
in a real monorepo.

    python bench/_gen.py DIR N [--secret-ratio 0.3] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

SECRET_TEMPLATES = [
    # npm token written to .npmrc
    """FROM node:{node}-alpine
# service {name} (generated)
ARG NPM_TOKEN
WORKDIR /app
COPY package.json ./
RUN echo "//registry.npmjs.org/:_authToken=${{NPM_TOKEN}}" > .npmrc && npm ci --omit=dev && rm -f .npmrc
COPY . .
EXPOSE {port}
CMD ["node", "server.js"]
""",
    # composite pip index URL in ENV
    """FROM python:{py}-slim
# service {name} (generated)
ARG PYPI_TOKEN
ENV PIP_INDEX_URL=https://__token__:${{PYPI_TOKEN}}@pypi.example.com/simple
WORKDIR /srv
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
CMD ["python", "-m", "{mod}"]
""",
    # Artifactory API key copied into ENV and sent in a header
    """FROM ubuntu:22.04
# service {name} (generated)
ARG ARTIFACTORY_API_KEY
ENV ART_KEY=$ARTIFACTORY_API_KEY
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates && rm -rf /var/lib/apt/lists/*
RUN curl -fsS -H "X-JFrog-Art-Api: $ART_KEY" -o /opt/{name}.tgz https://artifactory.example.com/artifactory/libs/{name}-{ver}.tgz
RUN mkdir -p /opt/{name} && tar -xzf /opt/{name}.tgz -C /opt/{name}
CMD ["/opt/{name}/bin/start"]
""",
    # go private modules through a token in the URL
    """FROM golang:1.{go} AS build
# service {name} (generated)
ARG GITHUB_TOKEN
ENV GOPRIVATE=github.com/example/*
RUN git config --global url."https://${{GITHUB_TOKEN}}@github.com/".insteadOf "https://github.com/"
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/{name} ./cmd/{name}

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/{name} /{name}
ENTRYPOINT ["/{name}"]
""",
    # AWS keys for an S3 download
    """FROM amazon/aws-cli:2.{aws}.0 AS fetch
# service {name} (generated)
ARG AWS_ACCESS_KEY_ID
ARG AWS_SECRET_ACCESS_KEY
ARG AWS_DEFAULT_REGION=eu-west-1
RUN aws s3 cp s3://example-artifacts/{name}/{ver}/app.jar /tmp/app.jar

FROM eclipse-temurin:{java}-jre
COPY --from=fetch /tmp/app.jar /app.jar
CMD ["java", "-jar", "/app.jar"]
""",
    # curl -u with a password
    """FROM alpine:3.{alpine}
# service {name} (generated)
ARG NEXUS_USER=ci
ARG NEXUS_PASSWORD
RUN apk add --no-cache curl && curl -fsS -u "$NEXUS_USER:$NEXUS_PASSWORD" -o /tmp/{name}.tar.gz https://nexus.example.com/repository/raw/{name}-{ver}.tar.gz
RUN tar -xzf /tmp/{name}.tar.gz -C /usr/local && rm /tmp/{name}.tar.gz
""",
]

CLEAN_TEMPLATES = [
    """FROM python:{py}-slim
# service {name} (generated)
ARG APP_VERSION={ver}
WORKDIR /srv
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
LABEL org.opencontainers.image.version=$APP_VERSION
CMD ["python", "-m", "{mod}"]
""",
    """FROM node:{node}-alpine AS deps
# service {name} (generated)
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci

FROM node:{node}-alpine
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
ENV NODE_ENV=production PORT={port}
EXPOSE {port}
CMD ["node", "server.js"]
""",
    """# syntax=docker/dockerfile:1
FROM golang:1.{go} AS build
# service {name} (generated)
WORKDIR /src
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=bind,source=go.mod,target=go.mod go mod download
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build CGO_ENABLED=0 go build -o /out/{name} ./cmd/{name}

FROM scratch
COPY --from=build /out/{name} /{name}
ENTRYPOINT ["/{name}"]
""",
    """FROM nginx:1.{nginx}-alpine
# service {name} (generated)
ARG BUILD_DATE
ARG GIT_SHA
LABEL org.opencontainers.image.created=$BUILD_DATE org.opencontainers.image.revision=$GIT_SHA
COPY nginx.conf /etc/nginx/conf.d/default.conf
COPY dist/ /usr/share/nginx/html/
EXPOSE 80
""",
    """FROM debian:bookworm-slim
# service {name} (generated)
ARG TOOL_VERSION={ver}
ARG TARGETARCH
RUN apt-get update \\
 && apt-get install -y --no-install-recommends ca-certificates curl \\
 && curl -fsSL "https://downloads.example.com/{name}/${{TOOL_VERSION}}/{name}-linux-${{TARGETARCH}}.tar.gz" | tar -xz -C /usr/local/bin \\
 && rm -rf /var/lib/apt/lists/*
USER 65534
ENTRYPOINT ["/usr/local/bin/{name}"]
""",
]

APP_FILES = {0: ("package.json", '{{"name": "{name}", "version": "{ver}"}}\n'),
             1: ("requirements.txt", "flask=={ver}\n"),
             2: ("main.go", "package main\n\nfunc main() {{}}\n")}


def _values(rng: random.Random, i: int) -> dict:
    return {
        "name": f"svc{i:05d}",
        "mod": f"svc{i:05d}.app",
        "node": rng.choice([18, 20, 22]),
        "py": rng.choice(["3.10", "3.11", "3.12"]),
        "go": rng.choice([21, 22, 23]),
        "aws": rng.randint(10, 22),
        "java": rng.choice([17, 21]),
        "alpine": rng.randint(17, 20),
        "nginx": rng.randint(23, 27),
        "port": rng.randint(3000, 9000),
        "ver": f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
    }


def generate(root: Path, n: int, secret_ratio: float = 0.3, seed: int = 0) -> dict:
    """Write N discoverable Dockerfiles under ROOT (plus ignored decoys). Returns counts."""
    root = Path(root)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    rng = random.Random(seed)
    (root / ".gitignore").write_text("build/\n*.log\n")
    for ignored in ("node_modules/x", "build"):
        (root / ignored).mkdir(parents=True)
        (root / ignored / "Dockerfile").write_text("FROM a\nARG NPM_TOKEN\nRUN npm ci\n")
    secret = 0
    i = 0
    svc = 0
    while i < n:
        d = root / "services" / f"g{svc // 100:03d}" / f"svc-{svc:05d}"
        d.mkdir(parents=True)
        app_name, app_text = APP_FILES[svc % 3]
        vals = _values(rng, svc)
        (d / app_name).write_text(app_text.format(**vals))
        names = ["Dockerfile"] + (["Dockerfile.dev"] if svc % 10 == 9 else [])
        for fname in names:
            if i >= n:
                break
            if rng.random() < secret_ratio:
                text = rng.choice(SECRET_TEMPLATES).format(**vals)
                secret += 1
            else:
                text = rng.choice(CLEAN_TEMPLATES).format(**vals)
            (d / fname).write_text(text)
            i += 1
        svc += 1
    return {"files": n, "secret_files": secret, "services": svc}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("n", type=int)
    ap.add_argument("--secret-ratio", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(generate(a.root, a.n, a.secret_ratio, a.seed))


if __name__ == "__main__":
    main()
