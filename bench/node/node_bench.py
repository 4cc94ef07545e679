#!/usr/bin/python3
"""End-to-end benchmark of the node: storescu (the scanner) -> torcht1 serve -> Orthanc (the PACS).

Latency: from the moment storescu has the last instance of a series acknowledged (its process
ends) to the moment Orthanc holds every map instance of that series (polled through its REST
API every 20 ms), once with the expected count known (ImagesInAcquisition), once with the
idle rule only, and once for moving series (3 mm drift + 6 mm gasp) with the expected count
known, which motion correction registers. Throughput: 8 concurrent senders, each sending its series one after another;
series per minute from the first send to the last map in Orthanc, p50/p99 latency, and the
node's peak resident memory (VmHWM).
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.loads(r.read())


def wait_until(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


class Orthanc:
    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "orthanc")
        os.makedirs(self.dir)
        self.dicom_port, self.http_port = free_port(), free_port()
        config = {"Name": "bench", "StorageDirectory": self.dir + "/db", "IndexDirectory": self.dir + "/db",
                  "DicomAet": "ORTHANC", "DicomPort": self.dicom_port, "HttpPort": self.http_port,
                  "RemoteAccessAllowed": False, "AuthenticationEnabled": False, "DicomCheckCalledAet": True,
                  "Plugins": [], "SaveJobs": False, "StorageCompression": False}
        with open(self.dir + "/orthanc.json", "w") as f:
            json.dump(config, f)
        self.log = open(self.dir + "/orthanc.log", "w")
        self.process = subprocess.Popen(["/usr/sbin/Orthanc", self.dir + "/orthanc.json"], stdout=self.log,
                                        stderr=subprocess.STDOUT)
        wait_until(lambda: get_json(self.http_port, "/system"), 30, "Orthanc")

    def map_instances_by_patient(self):
        """PatientID -> instances Orthanc holds for it (every patient here is one source series)."""
        patient_of_study = {study["ID"]: study["PatientMainDicomTags"].get("PatientID", "")
                            for study in get_json(self.http_port, "/studies?expand")}
        out = {}
        for series in get_json(self.http_port, "/series?expand"):
            pid = patient_of_study.get(series["ParentStudy"], "")
            out[pid] = out.get(pid, 0) + len(series["Instances"])
        return out

    def stop(self):
        self.process.terminate()
        self.process.wait(30)


class Node:
    def __init__(self, binary, workdir, name, orthanc, expected_count, idle):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        self.port = free_port()
        with open(self.dir + "/node.yaml", "w") as f:
            f.write(f"node: {{port: {self.port}, spool_dir: {self.dir}/spool, max_associations: 16}}\n"
                    f"http: {{port: 0}}\n"
                    f"series: {{idle_seconds: {idle}, use_expected_count: {'true' if expected_count else 'false'}}}\n"
                    f"fit: {{device: auto}}\n"
                    f"destinations:\n  - {{name: pacs, ae_title: ORTHANC, host: 127.0.0.1, port: {orthanc.dicom_port}}}\n")
        self.log_path = self.dir + "/node.log"
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([binary, "serve", "--config", self.dir + "/node.yaml"], stdout=self.log,
                                        stderr=subprocess.STDOUT)
        wait_until(lambda: "event=started" in open(self.log_path).read(), 60, "the node")

    def cpu_seconds(self):
        """User + system CPU time of the node so far."""
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_memory_mib(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0

    def stop(self):
        self.process.terminate()
        self.process.wait(60)


def simulate(binary, out, seed, size, slices, motion=()):
    subprocess.run([binary, "simulate", "--out", out, "--size", str(size), "--slices", str(slices), "--seed", str(seed),
                    *motion], check=True, stdout=subprocess.DEVNULL)
    files = sorted(os.path.join(out, f) for f in os.listdir(out) if f.endswith(".dcm"))
    return files


def send(files, port):
    subprocess.run(["storescu", "-aet", "SCANNER", "-aec", "TORCHT1", "127.0.0.1", str(port)] + files, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.time()


def watch(orthanc, expected, arrivals, stop):
    """Records when each patient's map instances are all in Orthanc."""
    while not stop.is_set():
        now = time.time()
        try:
            for pid, count in orthanc.map_instances_by_patient().items():
                if count >= expected and pid not in arrivals:
                    arrivals[pid] = now
        except Exception:
            pass
        time.sleep(0.02)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/server/torcht1")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--slices", type=int, default=3)
    ap.add_argument("--latency-series", type=int, default=5)
    ap.add_argument("--senders", type=int, default=8)
    ap.add_argument("--series-per-sender", type=int, default=3)
    ap.add_argument("--idle", type=float, default=2.0)
    ap.add_argument("--out", default="build/bench-node")
    args = ap.parse_args()
    maps_per_series = 2 * args.slices  # T1 and T1 SD, one instance per slice
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="work-", dir=args.out)
    results = {"size": args.size, "slices": args.slices, "cpus": os.cpu_count()}
    try:
        total = args.latency_series * 3 + args.senders * args.series_per_sender
        print(f"simulating {total} series of {args.slices} slices x 8 images, {args.size}x{args.size}", flush=True)
        studies = {}
        # The last latency series move (a 3 mm drift and a 6 mm gasp in each breath-hold): motion
        # correction registers them, where it stops early on the still ones.
        moving = set(range(args.latency_series * 2 + 1, args.latency_series * 3 + 1))
        for seed in range(1, total + 1):
            studies[seed] = simulate(args.binary, os.path.join(work, f"study{seed}"), 1000 + seed, args.size, args.slices,
                                     ("--motion", "3", "--gasp", "6") if seed in moving else ())
        seeds = iter(range(1, total + 1))

        orthanc = Orthanc(work)
        for mode, expected_count in (("expected_count", True), ("idle", False), ("moving_expected_count", True)):
            node = Node(args.binary, work, "node-" + mode, orthanc, expected_count, args.idle)
            arrivals, stop = {}, threading.Event()
            watcher = threading.Thread(target=watch, args=(orthanc, maps_per_series, arrivals, stop), daemon=True)
            watcher.start()
            latencies = []
            for _ in range(args.latency_series):
                seed = next(seeds)
                sent = send(studies[seed], node.port)
                pid = f"TT1-{1000 + seed}"
                wait_until(lambda: pid in arrivals, 120, f"maps of {pid}")
                latencies.append(arrivals[pid] - sent)
            stop.set()
            watcher.join()
            node.stop()
            results[f"latency_{mode}_s"] = {"median": statistics.median(latencies), "max": max(latencies),
                                            "all": latencies}
            print(f"latency ({mode}): median {statistics.median(latencies):.3f} s, max {max(latencies):.3f} s "
                  f"over {len(latencies)} series" + (f" (idle_seconds {args.idle})" if mode == "idle" else "") +
                  (" (3 mm drift + 6 mm gasp: motion-corrected)" if mode.startswith("moving") else ""),
                  flush=True)

        node = Node(args.binary, work, "node-throughput", orthanc, True, args.idle)
        arrivals, stop = {}, threading.Event()
        watcher = threading.Thread(target=watch, args=(orthanc, maps_per_series, arrivals, stop), daemon=True)
        watcher.start()
        sent_at = {}
        lock = threading.Lock()
        plan = [[next(seeds) for _ in range(args.series_per_sender)] for _ in range(args.senders)]

        def sender(seeds_of_sender):
            for seed in seeds_of_sender:
                t = send(studies[seed], node.port)
                with lock:
                    sent_at[f"TT1-{1000 + seed}"] = t

        cpu_before = node.cpu_seconds()
        start = time.time()
        threads = [threading.Thread(target=sender, args=(p,)) for p in plan]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sending_s = time.time() - start
        wait_until(lambda: all(pid in arrivals for pid in sent_at), 600, "every map series")
        end = max(arrivals[pid] for pid in sent_at)
        stop.set()
        watcher.join()
        memory = node.peak_memory_mib()
        node_cpu_s = node.cpu_seconds() - cpu_before
        errors = sum(1 for line in open(node.log_path) if "event=failed" in line or "event=send_failed" in line)
        fit_ms, total_ms = [], []
        for line in open(node.log_path):
            if " event=fitted " in f" {line} ":
                fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
                fit_ms.append(float(fields.get("fit_ms", "nan")))
                total_ms.append(float(fields.get("total_ms", "nan")))
        shutil.copy(node.log_path, os.path.join(args.out, "node-throughput.log"))
        node.stop()
        orthanc.stop()
        lat = [arrivals[pid] - sent_at[pid] for pid in sent_at]
        n = len(sent_at)
        results["throughput"] = {"senders": args.senders, "series": n, "seconds": end - start,
                                 "series_per_minute": 60 * n / (end - start), "latency_p50_s": percentile(lat, 50),
                                 "latency_p99_s": percentile(lat, 99), "peak_memory_mib": memory, "errors": errors,
                                 "sending_s": sending_s, "fit_ms_median": statistics.median(fit_ms),
                                 "decode_to_written_ms_median": statistics.median(total_ms), "node_cpu_s": node_cpu_s}
        print(f"throughput: {args.senders} senders x {args.series_per_sender} series = {n} series in "
              f"{end - start:.1f} s: {60 * n / (end - start):.1f} series/min; latency p50 {percentile(lat, 50):.2f} s, "
              f"p99 {percentile(lat, 99):.2f} s; node peak memory {memory:.0f} MiB; errors {errors}", flush=True)
        print(f"  the senders took {sending_s:.1f} s to send it all; per series in the node: fit median "
              f"{statistics.median(fit_ms):.0f} ms, decode to maps written median {statistics.median(total_ms):.0f} ms "
              f"(latency beyond that is queueing behind other series); the node used {node_cpu_s:.1f} s of CPU "
              f"({1000 * node_cpu_s / n:.0f} ms per series) of the {os.cpu_count()} cores' {os.cpu_count() * (end - start):.0f} s",
              flush=True)
        with open(os.path.join(args.out, "node-bench.json"), "w") as f:
            json.dump(results, f, indent=2)
        print(f"summary: latency_expected_count_median_s={results['latency_expected_count_s']['median']:.3f} "
              f"latency_idle_median_s={results['latency_idle_s']['median']:.3f} "
              f"latency_moving_median_s={results['latency_moving_expected_count_s']['median']:.3f} "
              f"series_per_minute={results['throughput']['series_per_minute']:.1f} "
              f"p99_s={results['throughput']['latency_p99_s']:.2f} peak_memory_mib={memory:.0f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
