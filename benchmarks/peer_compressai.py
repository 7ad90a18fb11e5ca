"""CompressAI's Elic2022Official as a timing peer, run by the peer's own Python (not elicbench's).

Started by ``test_elic_vs_compressai.py`` as a long-lived worker so that the two implementations
can be timed alternately in one run. Protocol: argv = image.npy (uint8 H x W x 3) and the thread
count; then one command per stdin line, ``encode`` or ``decode``, each answered with one JSON line
``{"seconds": ..., "bytes": ...}`` (the peer's own wall time of that call, tensor conversion
included). The first line written is ``{"ready": true, ...}`` once the model is built and its
entropy tables updated. Weights are CompressAI's random initialisation (seeded), as on the
elicbench side: timing does not depend on training.

``peer_compressai.py --transforms [threads]`` instead times g_a and g_s alone, counts their
multiply-adds, and times torch's float32 matrix product: CompressAI's side of issue 15's ceiling
(``elic_arithmetic_ceiling.py`` is elicbench's; docs/elic-speed.md).
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
    if sys.argv[1] == "--transforms":
        transforms(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
        return
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


def multiply_adds(module: torch.nn.Module, x: torch.Tensor) -> float:
    """Multiply-adds of the (transposed) convolutions in one call, counted by forward hooks."""
    total = 0.0

    def conv(layer, inputs, output):
        nonlocal total
        kh, kw = layer.kernel_size
        if isinstance(layer, torch.nn.ConvTranspose2d):   # each input pixel meets every tap once
            total += inputs[0].numel() * layer.out_channels // layer.groups * kh * kw
        else:
            total += output.numel() * layer.in_channels // layer.groups * kh * kw

    hooks = [m.register_forward_hook(conv) for m in module.modules()
             if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    module(x)
    for hook in hooks:
        hook.remove()
    return total


def transforms(threads: int) -> None:
    """g_a and g_s of a 768x512 image alone (GMAC, seconds, GMAC/s), and a 4096^3 matrix product."""
    from timing import median_seconds   # benchmarks/timing.py, beside this file

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    from compressai.models import Elic2022Official

    model = Elic2022Official().eval()
    with torch.no_grad():
        x = torch.rand(1, 3, 512, 768)
        y = torch.rand(1, 320, 32, 48)
        macs_a, macs_s = multiply_adds(model.g_a, x), multiply_adds(model.g_s, y)
        t_a = median_seconds(lambda: model.g_a(x), rounds=5, warm_up=True)
        t_s = median_seconds(lambda: model.g_s(y), rounds=5, warm_up=True)
        n = 4096
        a, b = torch.rand(n, n), torch.rand(n, n)
        t_mm = median_seconds(lambda: a @ b, rounds=5, warm_up=True)
    print(f"torch {torch.__version__}, {threads} threads")
    print(f"g_a: {macs_a / 1e9:.1f} GMAC in {t_a:.3f} s = {macs_a / t_a / 1e9:.1f} GMAC/s")
    print(f"g_s: {macs_s / 1e9:.1f} GMAC in {t_s:.3f} s = {macs_s / t_s / 1e9:.1f} GMAC/s")
    print(f"float32 matrix product {n}^3: {n ** 3 / t_mm / 1e9:.1f} GMAC/s")


if __name__ == "__main__":
    main()
