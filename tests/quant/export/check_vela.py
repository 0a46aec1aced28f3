"""Compiles TFLite exports with Arm's Vela for the Ethos-U85 (usage: check_vela.py [--accelerator A]
MODEL.tflite ...; default ethos-u85-256) and
reports how many operators it placed on the NPU. Vela replaces what it compiles by ethos-u CUSTOM
operators and leaves CPU fallbacks as their TFLite builtins, so every non-CUSTOM operator left in its
output runs on the CPU. Fails if any operator falls back."""
import os
import subprocess
import sys
import tempfile

import tflite_reader

ACCEL = "ethos-u85-256"


def compile_one(path, accel=ACCEL):
    n_ops = len(tflite_reader.read(path)["ops"])
    with tempfile.TemporaryDirectory() as out:
        r = subprocess.run(["vela", "--accelerator-config", accel, "--output-dir", out, path],
                           capture_output=True, text=True)
        name = os.path.splitext(os.path.basename(path))[0] + "_vela.tflite"
        if r.returncode != 0 or not os.path.exists(os.path.join(out, name)):
            print(r.stdout[-2000:], r.stderr[-2000:])
            return False, f"{path}: vela failed (exit {r.returncode})"
        left = [o["op"] for o in tflite_reader.read(os.path.join(out, name))["ops"]]
    cpu = [op for op in left if op != "CUSTOM"]
    msg = (f"{os.path.basename(os.path.dirname(path))}/{os.path.basename(path)}: vela {accel}: "
           f"{n_ops - len(cpu)} of {n_ops} operators on the NPU"
           + (f", on the CPU: {', '.join(cpu)}" if cpu else ""))
    return not cpu, msg


def main(args):
    accel = ACCEL
    if len(args) >= 2 and args[0] == "--accelerator":
        accel, args = args[1], args[2:]
    failed = 0
    for p in args:
        ok, msg = compile_one(p, accel)
        print(("ok    " if ok else "FAIL  ") + msg)
        failed += not ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
