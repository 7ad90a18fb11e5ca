"""CompressAI's Elic2022Official g_a and g_s alone, and torch's float32 matrix product (issue 15's
ceiling, beside ``elic_arithmetic_ceiling.py``). Run by the peer's own Python, e.g.
``$PEER_PYTHON benchmarks/peer_compressai_transforms.py [threads]``; see peer_compressai.py for why
torchvision and torch_geometric are stood in for.
"""
import statistics
import sys
import time
import types

for _name in ("torchvision", "torchvision.transforms", "torch_geometric", "torch_geometric.transforms",
              "compressai.datasets", "compressai.transforms"):
    if _name not in sys.modules:
        sys.modules[_name] = types.ModuleType(_name)
        _parent, _, _child = _name.rpartition(".")
        if _parent in sys.modules:
            setattr(sys.modules[_parent], _child, sys.modules[_name])

import torch  # noqa: E402


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


def median_seconds(fn, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    from compressai.models import Elic2022Official

    model = Elic2022Official().eval()
    with torch.no_grad():
        x = torch.rand(1, 3, 512, 768)
        y = torch.rand(1, 320, 32, 48)
        macs_a, macs_s = multiply_adds(model.g_a, x), multiply_adds(model.g_s, y)
        t_a = median_seconds(lambda: model.g_a(x))
        t_s = median_seconds(lambda: model.g_s(y))
        n = 4096
        a, b = torch.rand(n, n), torch.rand(n, n)
        t_mm = median_seconds(lambda: a @ b)
    print(f"torch {torch.__version__}, {threads} threads")
    print(f"g_a: {macs_a / 1e9:.1f} GMAC in {t_a:.3f} s = {macs_a / t_a / 1e9:.1f} GMAC/s")
    print(f"g_s: {macs_s / 1e9:.1f} GMAC in {t_s:.3f} s = {macs_s / t_s / 1e9:.1f} GMAC/s")
    print(f"float32 matrix product {n}^3: {n ** 3 / t_mm / 1e9:.1f} GMAC/s")


if __name__ == "__main__":
    main()
