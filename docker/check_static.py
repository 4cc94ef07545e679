"""Static checks of docker/ for CI: no podman, no network, about a second.

Run through docker/check-static.sh, which also runs `bash -n` on the scripts and configures
CMake from exactly the files the build context holds. Arguments: the repository root, and
optionally the torcht1 binary (then every environment the compose files give the node is
validated with `torcht1 check-config`) and a file to write the build context's file list to.
"""
import json
import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.abspath(sys.argv[1])
BINARY = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else ""
CONTEXT_LIST = sys.argv[3] if len(sys.argv) > 3 else ""
DOCKER = os.path.join(ROOT, "docker")

passed = 0
failures = []


def check(ok, what):
    global passed
    if ok:
        passed += 1
    else:
        failures.append(what)
        print("FAIL: " + what)
    return ok


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


# ---------------------------------------------------------------------------------------------
# Dockerfiles

def instructions(text):
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


def stages(text):
    """[(from-arguments, [(INSTRUCTION, arguments)])], one per FROM."""
    result = []
    for word, rest in instructions(text):
        if word == "FROM":
            result.append((rest, []))
        elif result:
            result[-1][1].append((word, rest))
    return result


def args_of(stage, word):
    return [rest for w, rest in stage[1] if w == word]


def env_of(stage):
    env = {}
    for rest in args_of(stage, "ENV"):
        for key, value in re.findall(r'([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)', rest):
            env[key] = value.strip('"')
    return env


def apt_packages(stage):
    packages = []
    for rest in args_of(stage, "RUN"):
        for m in re.finditer(r"apt-get install ((?:[^&;|])*)", rest):
            packages += [p for p in m.group(1).split() if not p.startswith("-")]
    return packages


def dockerignore_patterns(context):
    path = os.path.join(context, ".dockerignore")
    if not os.path.exists(path):
        return []
    patterns = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(line)
    return patterns


def pattern_regex(pattern):
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + "$")


def in_context(relpath, patterns):
    """Docker's rule: the last pattern that matches the path or one of its parents decides."""
    parts = relpath.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for pattern in patterns:
        negated = pattern.startswith("!")
        p = pattern[1:] if negated else pattern
        p = p.strip("/")
        rx = pattern_regex(p)
        if any(rx.match(c) for c in candidates):
            included = negated
    return included


def context_files(context):
    """Files of the build context: the working tree (tracked and untracked, not git-ignored)."""
    try:
        # Paths relative to the context (git prints them relative to -C's folder).
        listed = subprocess.run(["git", "-C", context, "ls-files", "--cached", "--others", "--exclude-standard", "."],
                                check=True, capture_output=True, text=True).stdout.split("\n")
        files = [f for f in listed if f]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for base, dirs, names in os.walk(context):
            dirs[:] = [d for d in dirs if d not in (".git", "build")]
            files += [os.path.relpath(os.path.join(base, n), context) for n in names]
    patterns = dockerignore_patterns(context)
    return sorted(f for f in files if os.path.exists(os.path.join(context, f)) and in_context(f, patterns))


def check_copy_sources(name, dockerfile_stages, context, files):
    """Every COPY source exists in the context (not excluded by .dockerignore)."""
    build_names = {}
    for i, (frm, _) in enumerate(dockerfile_stages):
        m = re.search(r"\bAS\s+(\S+)", frm, re.I)
        if m:
            build_names[m.group(1)] = i
    fileset = set(files)
    for stage in dockerfile_stages:
        workdir = "/"
        copied_root = None
        for word, rest in stage[1]:
            if word == "WORKDIR":
                workdir = rest
            if word not in ("COPY", "ADD"):
                continue
            tokens = rest.split()
            opts = [t for t in tokens if t.startswith("--")]
            paths = [t for t in tokens if not t.startswith("--")]
            sources = paths[:-1]
            source_stage = next((o.split("=", 1)[1] for o in opts if o.startswith("--from=")), None)
            if source_stage is None:
                for s in sources:
                    if s in (".", "./"):
                        copied_root = workdir
                        check(len(files) > 0, f"{name}: COPY . has an empty context")
                        continue
                    s = s.strip("/")
                    ok = s in fileset or any(f.startswith(s + "/") for f in fileset)
                    check(ok, f"{name}: COPY {s}: not in the build context {os.path.relpath(context, ROOT)}")
            elif source_stage in build_names:
                # COPY --from=build /src/<file>: <file> comes from the context copied to /src.
                build_stage = dockerfile_stages[build_names[source_stage]]
                src_root = None
                wd = "/"
                for w, r in build_stage[1]:
                    if w == "WORKDIR":
                        wd = r
                    if w == "COPY" and r.split()[:2] == [".", "."]:
                        src_root = wd.rstrip("/")
                for s in sources:
                    if src_root and s.startswith(src_root + "/"):
                        rel = s[len(src_root) + 1:]
                        check(rel in fileset, f"{name}: COPY --from={source_stage} {s}: {rel} is not in the build context")


def check_node_dockerfile(name, text, files):
    st = stages(text)
    check(len(st) >= 2, f"{name}: multi-stage (a build stage and a runtime stage)")
    final = st[-1]
    users = args_of(final, "USER")
    check(users and users[-1].split(":")[0] not in ("root", "0"), f"{name}: final stage runs as a non-root USER")
    health = args_of(final, "HEALTHCHECK")
    check(health and "http://127.0.0.1:8080/healthz" in health[-1], f"{name}: HEALTHCHECK on http://127.0.0.1:8080/healthz")
    check(health and "curl" in health[-1], f"{name}: HEALTHCHECK uses curl")
    exposed = " ".join(args_of(final, "EXPOSE")).split()
    check("11112" in exposed and "8080" in exposed, f"{name}: EXPOSE 11112 8080")
    check(any("/var/lib/torcht1" in v for v in args_of(final, "VOLUME")), f"{name}: VOLUME /var/lib/torcht1")
    check(args_of(final, "STOPSIGNAL") == ["SIGTERM"], f"{name}: STOPSIGNAL SIGTERM")
    check(args_of(final, "ENTRYPOINT") == ['["torcht1"]'], f'{name}: ENTRYPOINT ["torcht1"]')
    check(args_of(final, "CMD") == ['["serve"]'], f'{name}: CMD ["serve"]')
    env = env_of(final)
    check(env.get("TORCHT1_NODE__SPOOL_DIR", "").startswith("/var/lib/torcht1/"), f"{name}: spool on the volume")
    check(env.get("TORCHT1_OUTPUT__DIR", "").startswith("/var/lib/torcht1/"), f"{name}: maps on the volume")
    check(env.get("TORCHT1_HTTP__BIND") == "0.0.0.0", f"{name}: HTTP bound to 0.0.0.0 (the healthcheck and the published port need it)")
    check(not any(p.endswith("-dev") for p in apt_packages(final)), f"{name}: runtime stage installs no -dev package")
    builds = " ".join(args_of(st[0], "RUN"))
    for flag in ("-DTORCHT1_BUILD_TESTS=OFF", "-DTORCHT1_BUILD_BENCH=OFF", "--target torcht1"):
        check(flag in builds, f"{name}: build stage uses {flag}")
    check_copy_sources(name, st, ROOT, files)
    return st


def install_deps_libraries():
    """The 'libraries the code links against' line of scripts/install-deps.sh."""
    text = read("scripts/install-deps.sh")
    m = re.search(r"# libraries the code links against\n\s*([^\n#]+)", text)
    return m.group(1).split() if m else []


root_files = context_files(ROOT)
if CONTEXT_LIST:
    with open(CONTEXT_LIST, "w", encoding="utf-8") as f:
        f.write("\n".join(root_files) + "\n")

for path in ("docker/Dockerfile", "docker/Dockerfile.cuda", "docker/docker-compose.yml", "docker/docker-compose.gpu.yml",
             "docker/orthanc/Dockerfile", "docker/orthanc/orthanc.json", "docker/env.example", "docker/test-stack.sh",
             ".dockerignore", "config/torcht1.yaml"):
    check(os.path.exists(os.path.join(ROOT, path)), f"{path} exists")

cpu = check_node_dockerfile("docker/Dockerfile", read("docker/Dockerfile"), root_files)
cuda = check_node_dockerfile("docker/Dockerfile.cuda", read("docker/Dockerfile.cuda"), root_files)
check(cpu[0][0].startswith("debian:bookworm-slim") and cpu[-1][0].startswith("debian:bookworm-slim"),
      "docker/Dockerfile: both stages FROM debian:bookworm-slim")
check(any("ReferenceFit.cpp" in f for f in root_files), "build context keeps tests/support/ReferenceFit.cpp (CMake declares it)")
check(not any(f.startswith(("build/", ".git/", "docker/")) for f in root_files), "build context leaves out build/, .git and docker/")

# The two node images in step.
cpu_final, cuda_final = cpu[-1], cuda[-1]
for word in ("USER", "EXPOSE", "VOLUME", "HEALTHCHECK", "STOPSIGNAL", "ENTRYPOINT", "CMD", "WORKDIR"):
    check(args_of(cpu_final, word) == args_of(cuda_final, word), f"Dockerfile and Dockerfile.cuda: same {word}")
cpu_env, cuda_env = env_of(cpu_final), env_of(cuda_final)
for key, value in cpu_env.items():
    check(cuda_env.get(key) == value, f"Dockerfile.cuda sets {key}={value} as the CPU image does")
linked = install_deps_libraries()
check(len(linked) > 3, "scripts/install-deps.sh lists the libraries the code links against")
cpu_build_packages = set(apt_packages(cpu[0]))
cuda_build_packages = set(apt_packages(cuda[0]))
for package in linked:
    check(package in cpu_build_packages, f"docker/Dockerfile build stage installs {package} (scripts/install-deps.sh)")
    if package != "libtorch-dev":  # the CUDA image takes LibTorch from its base
        check(package in cuda_build_packages, f"docker/Dockerfile.cuda build stage installs {package}")
cpu_runtime = set(apt_packages(cpu_final))
for package in ("libtorch1.13", "libdcmtk17", "libyaml-cpp0.7", "libopenblas0-openmp", "curl"):
    check(package in cpu_runtime, f"docker/Dockerfile runtime stage installs {package}")

# Orthanc's image.
orthanc_stages = stages(read("docker/orthanc/Dockerfile"))
orthanc_files = context_files(os.path.join(DOCKER, "orthanc"))
check_copy_sources("docker/orthanc/Dockerfile", orthanc_stages, os.path.join(DOCKER, "orthanc"), orthanc_files)
check(orthanc_stages[0][0].startswith("debian:bookworm-slim"), "docker/orthanc/Dockerfile: FROM debian:bookworm-slim")
check("orthanc" in apt_packages(orthanc_stages[-1]), "docker/orthanc/Dockerfile installs Debian's orthanc")
check(args_of(orthanc_stages[-1], "USER") and args_of(orthanc_stages[-1], "USER")[-1] not in ("root", "0"),
      "docker/orthanc/Dockerfile runs as a non-root USER")
check(bool(args_of(orthanc_stages[-1], "HEALTHCHECK")), "docker/orthanc/Dockerfile has a HEALTHCHECK")

orthanc_text = "\n".join(line for line in read("docker/orthanc/orthanc.json").splitlines() if not line.strip().startswith("//"))
try:
    orthanc = json.loads(orthanc_text)
except ValueError as e:
    orthanc = {}
    check(False, f"docker/orthanc/orthanc.json parses as JSON (comment lines aside): {e}")
check(orthanc.get("DicomAet") == "ORTHANC" and orthanc.get("DicomPort") == 4242 and orthanc.get("HttpPort") == 8042,
      "orthanc.json: DicomAet ORTHANC, DicomPort 4242, HttpPort 8042")
check(orthanc.get("RemoteAccessAllowed") is True and orthanc.get("AuthenticationEnabled") is True
      and orthanc.get("RegisteredUsers"), "orthanc.json: remote access only with authentication")
modalities = [tuple(v) for v in orthanc.get("DicomModalities", {}).values()]

# ---------------------------------------------------------------------------------------------
# Compose files

VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")


def interpolate(value, variables):
    if isinstance(value, str):
        value = value.replace("$$", "\0")
        value = VAR.sub(lambda m: variables.get(m.group(1), m.group(2) or ""), value)
        return value.replace("\0", "$")
    if isinstance(value, dict):
        return {k: interpolate(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    return value


def load_compose(path):
    try:
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            return yaml.safe_load(f) or {}
    except yaml.YAMLError as e:
        check(False, f"{path} parses as YAML: {e}")
        return {}


def environment(service):
    env = service.get("environment", {}) or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


compose_text = read("docker/docker-compose.yml")
gpu_text = read("docker/docker-compose.gpu.yml")
compose = load_compose("docker/docker-compose.yml")
gpu = load_compose("docker/docker-compose.gpu.yml")
services = compose.get("services", {})
check(set(services) >= {"node", "orthanc"}, "docker-compose.yml has services node and orthanc")
declared_volumes = set((compose.get("volumes") or {}).keys())
for name, service in services.items():
    check(service.get("restart") == "unless-stopped", f"compose: {name} restarts unless-stopped")
    check(bool((service.get("healthcheck") or {}).get("test")), f"compose: {name} has a healthcheck")
    for volume in service.get("volumes", []) or []:
        source = str(volume).split(":")[0]
        if not source.startswith((".", "/")):
            check(source in declared_volumes, f"compose: {name}'s volume {source} is a declared named volume")
    build = service.get("build") or {}
    if build:
        context = os.path.normpath(os.path.join(DOCKER, build.get("context", ".")))
        dockerfile = os.path.join(context, build.get("dockerfile", "Dockerfile"))
        check(os.path.exists(dockerfile), f"compose: {name}'s Dockerfile {os.path.relpath(dockerfile, ROOT)} exists")
node = services.get("node", {})
check(os.path.normpath(os.path.join(DOCKER, (node.get("build") or {}).get("context", "."))) == ROOT,
      "compose: the node is built from the repository root (the context .dockerignore describes)")
node_health = node.get("healthcheck", {}).get("test", [])
check("/healthz" in " ".join(map(str, node_health)), "compose: node healthcheck on /healthz")
for name, service in services.items():
    test = (service.get("healthcheck") or {}).get("test", [])
    # podman-compose 1.0.3 turns ["CMD", prog, args...] into `sh -c prog` (arguments lost).
    check(isinstance(test, list) and test[:1] == ["CMD-SHELL"],
          f"compose: {name}'s healthcheck in the CMD-SHELL form (podman-compose 1.0.3 mangles the CMD form)")
check(bool(node.get("stop_grace_period")), "compose: node has a stop_grace_period (SIGTERM finishes the series in hand)")
node_ports = [str(p) for p in node.get("ports", [])]
check(any(p.endswith(":11112") for p in node_ports) and any(p.endswith(":8080") for p in node_ports),
      "compose: node publishes 11112 (DICOM) and 8080 (status)")
orthanc_ports = [interpolate(str(p), {}) for p in services.get("orthanc", {}).get("ports", [])]
check(any(p.startswith("127.0.0.1:") and p.endswith(":8042") for p in orthanc_ports),
      "compose: Orthanc's web UI on 127.0.0.1:8042 by default")
check("${TORCHT1_HTTP_TOKEN" in compose_text, "compose: the node's token comes from the environment")

gpu_node = (gpu.get("services") or {}).get("node", {})
check((gpu_node.get("build") or {}).get("dockerfile") == "docker/Dockerfile.cuda", "compose GPU override builds docker/Dockerfile.cuda")
devices = (((gpu_node.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get("devices") or []
check(any("gpu" in (d.get("capabilities") or []) for d in devices) or gpu_node.get("gpus"),
      "compose GPU override requests the GPUs")

# env.example documents exactly the variables the compose files use.
example = {}
for line in read("docker/env.example").splitlines():
    if line.strip() and not line.lstrip().startswith("#") and "=" in line:
        key, _, value = line.partition("=")
        example[key.strip()] = value.strip()
def uncommented(text):
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


compose_text, gpu_text = uncommented(compose_text), uncommented(gpu_text)
used = {m.group(1) for m in VAR.finditer(compose_text + gpu_text)}
check(used == set(example), "env.example lists exactly the compose files' variables"
      + (f" (missing: {sorted(used - set(example))}, unused: {sorted(set(example) - used)})" if used != set(example) else ""))
defaults = {m.group(1): m.group(2) for m in VAR.finditer(compose_text + gpu_text) if m.group(2) is not None}
for key, value in example.items():
    if key in defaults:
        check(defaults[key] == value, f"env.example's {key}={value} is the compose default ({defaults.get(key)})")

# The node's environment, as the container sees it, passes `torcht1 check-config`.
node_env_default = interpolate(environment(node), {})
destinations = yaml.safe_load(node_env_default.get("TORCHT1_DESTINATIONS", "[]")) or []
check(len(destinations) == 1, "compose: the node has one destination")
if destinations:
    d = destinations[0]
    check((d.get("ae_title"), d.get("host"), d.get("port")) == (orthanc.get("DicomAet"), "orthanc", orthanc.get("DicomPort")),
          "compose: the node's default destination is the stack's Orthanc (AE, service name, DICOM port)")
check((node_env_default.get("TORCHT1_NODE__AE_TITLE"), "node", 11112) in modalities,
      "orthanc.json knows the node as a modality (its AE title, service name node, port 11112)")

if BINARY:
    config_file = os.path.join(ROOT, "config", "torcht1.yaml")
    image_env = {k: v for k, v in cpu_env.items() if k != "TORCHT1_CONFIG"}
    base = {k: v for k, v in os.environ.items() if not k.startswith("TORCHT1_")}

    def check_config(env):
        run = subprocess.run([BINARY, "check-config", config_file], env={**base, **env}, capture_output=True, text=True)
        return run.returncode, (run.stdout + run.stderr).strip().splitlines()[-1:] or [""]

    gpu_env = {**node_env_default, **interpolate(environment(gpu_node), {})}
    cases = [
        ("compose defaults", {**image_env, **node_env_default}),
        ("env.example values", {**image_env, **interpolate(environment(node), example)}),
        ("GPU override", {**image_env, **gpu_env}),
    ]
    for label, env in cases:
        rc, last = check_config(env)
        check(rc == 0, f"torcht1 check-config accepts the node's environment ({label}): {last[0]}")
    # The check means something: the same environment plus an unknown key is refused.
    rc, _ = check_config({**image_env, **node_env_default, "TORCHT1_NODE__NO_SUCH_KEY": "1"})
    check(rc != 0, "torcht1 check-config refuses an unknown TORCHT1_ key (so the environment is really read)")
    # The image alone, without a token, must refuse to start (HTTP on 0.0.0.0).
    rc, _ = check_config(image_env)
    check(rc != 0, "the image's environment without a token is refused (http.bind 0.0.0.0 needs http.token)")
else:
    print("note: no torcht1 binary given: the node's environment was not run through `torcht1 check-config`")

print(f"check_static: {passed} checks passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
