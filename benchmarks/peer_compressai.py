"""CompressAI's Elic2022Official as a timing peer, run by the peer's own Python (not elicbench's).

Started by ``test_elic_vs_compressai.py`` as a long-lived worker so that the two implementations
can be timed alternately in one run. Protocol: argv = image.npy (uint8 H x W x 3) and the thread
count; then one command per stdin line, ``encode`` or ``decode``, each answered with one JSON line
``{"seconds": ..., "bytes": ...}`` (the peer's own wall time of that call, tensor conversion
included). The first line written is ``{"ready": true, ...}`` once the model is built and its
entropy tables updated. Weights are CompressAI's random initialisation (seeded), as on the
elicbench side: timing does not depend on training.
"""
import json
import sys
import time
import types

# CompressAI 1.2.8 imports torchvision and torch_geometric at package import time (its transform
# registry and point-cloud datasets), none of which the image model uses. On these machines the
# registry's torchvision is a CUDA build whose custom ops fail to register beside the CPU torch
# wheel ("operator torchvision::nms does not exist"), so the peer venv does not install it: empty
# stand-in modules are registered here, in this worker process only, before compressai is imported.
for _name in ("torchvision", "torchvision.transforms", "torch_geometric", "torch_geometric.transforms",
              "compressai.datasets", "compressai.transforms"):
    if _name not in sys.modules:
        sys.modules[_name] = types.ModuleType(_name)
        _parent, _, _child = _name.rpartition(".")
        if _parent in sys.modules:
            setattr(sys.modules[_parent], _child, sys.modules[_name])

import numpy as np  # noqa: E402
import torch  # noqa: E402


def main() -> None:
    image_path, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    import compressai
    from compressai.models import Elic2022Official

    model = Elic2022Official().eval()
    model.update(force=True)
    image = np.load(image_path)
    h, w = image.shape[:2]
    if h % 64 or w % 64:
        raise SystemExit(f"peer: image sides must be multiples of 64, got {w}x{h}")
    state: dict = {}

    def encode():
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float().div(255.0)
        with torch.no_grad():
            out = model.compress(x)
        state["out"] = out
        return sum(len(s[0]) for s in out["strings"])

    def decode():
        out = state["out"]
        with torch.no_grad():
            x_hat = model.decompress(out["strings"], out["shape"])["x_hat"]
        pixels = x_hat.clamp(0, 1).mul(255).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
        assert pixels.shape == image.shape
        return 0

    print(json.dumps({"ready": True, "torch": torch.__version__, "compressai": compressai.__version__,
                      "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command not in ("encode", "decode"):
            break
        start = time.perf_counter()
        size = (encode if command == "encode" else decode)()
        print(json.dumps({"seconds": time.perf_counter() - start, "bytes": size}), flush=True)


if __name__ == "__main__":
    main()
