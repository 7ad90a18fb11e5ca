"""The AVIF codecs: each encoder through its own libavif, whatever registered Pillow's "AVIF" format last."""
from __future__ import annotations

import io

from PIL import Image

from elicbench.codecs import avif as avif_codecs

from codec_helpers import make


def test_avif_stays_on_pillows_builtin_libavif(crop, monkeypatch):
    """pillow_avif re-registers Pillow's "AVIF" format; `avif` must still use the built-in driver."""
    avif = make("avif")
    make("avif-svt")
    from PIL import AvifImagePlugin
    from pillow_avif import AvifImagePlugin as PluginAvif

    monkeypatch.setitem(Image.SAVE, "AVIF", PluginAvif._save)   # as after `import pillow_avif`
    monkeypatch.setitem(Image.OPEN, "AVIF", (PluginAvif.AvifImageFile, PluginAvif._accept))
    data = avif.encode(crop, 40)
    assert Image.SAVE[avif_codecs._AVIF_FORMATS["builtin"]] is AvifImagePlugin._save
    # Same libavif + aom in both (pillow 13.0.0, plug-in 1.6.0): the same file either way.
    buf = io.BytesIO()
    Image.fromarray(crop).save(buf, format="AVIF", quality=40, speed=6, codec="aom", max_threads=1)
    assert buf.getvalue() == data
    # The built-in decoder opens every AVIF encoder's files.
    for name in ("avif-svt", "avif-rav1e"):
        other = make(name)
        assert other.decode(other.encode(crop, 40)).shape == crop.shape
    assert Image.SAVE[avif_codecs._AVIF_FORMATS["plugin"]] is PluginAvif._save
    assert avif.decode(data).shape == crop.shape
