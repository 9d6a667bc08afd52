"""Thumbnail worker: ``python -m repository.processing._thumb_child``.

Reads one JSON job on stdin ({"op": "image"|"pdf", "src", "out", "max_px", "format"}), writes the
thumbnail to ``out`` and one JSON object on stdout: {"ok": true, "width", "height"} or
{"ok": false, "reason"}. Runs under the limits set by ``_sandbox``; imports nothing from Flask.
"""
from __future__ import annotations

import json
import sys
import warnings

ALLOWED_FORMATS = ["JPEG", "PNG", "GIF", "WEBP"]
MAX_IMAGE_PIXELS = 40_000_000  # TECH-NOTES §3: ~40 MP, and the bomb warning is an error


def _flatten(image):
    """An RGB copy without any metadata; transparency is composited onto white."""
    from PIL import Image

    if image.mode in ("P", "PA"):
        image = image.convert("RGBA" if "transparency" in image.info or image.mode == "PA" else "RGB")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        clean = Image.new("RGB", rgba.size, (255, 255, 255))
        clean.paste(rgba, mask=rgba.getchannel("A"))
        return clean
    rgb = image.convert("RGB")
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)
    return clean  # a new image: no exif, icc_profile, xmp or comments carried over


def _save(image, out: str, fmt: str) -> dict:
    if fmt == "WEBP":
        image.save(out, format="WEBP", quality=80, method=4)
    else:
        image.save(out, format="JPEG", quality=82, optimize=True, progressive=True)
    return {"ok": True, "width": image.width, "height": image.height}


def thumb_image(src: str, out: str, max_px: int, fmt: str) -> dict:
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    with Image.open(src, formats=ALLOWED_FORMATS) as image:
        if image.format == "JPEG":
            image.draft("RGB", (max_px, max_px))  # decode at a reduced scale: less memory and time
        upright = ImageOps.exif_transpose(image)  # a new, rotated image; the file is not touched
        upright.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
        return _save(_flatten(upright), out, fmt)


def thumb_pdf(src: str, out: str, max_px: int, fmt: str) -> dict:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(src)
    try:
        if len(pdf) < 1:
            return {"ok": False, "reason": "PDF has no pages"}
        page = pdf[0]
        try:
            width, height = page.get_size()
            if not (width > 0 and height > 0):
                return {"ok": False, "reason": "PDF page has no size"}
            scale = max_px / max(width, height)
            image = page.render(scale=scale).to_pil()
        finally:
            page.close()
    finally:
        pdf.close()
    image.thumbnail((max_px, max_px))
    return _save(_flatten(image), out, fmt)


def main() -> int:
    job = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    handler = {"image": thumb_image, "pdf": thumb_pdf}[job["op"]]
    try:
        result = handler(job["src"], job["out"], int(job["max_px"]), job["format"])
    except MemoryError:
        result = {"ok": False, "reason": "memory limit exceeded"}
    except Exception as exc:  # noqa: BLE001 - any decoder error means "no thumbnail"
        result = {"ok": False, "reason": f"{type(exc).__name__}: {str(exc)[:200]}"}
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
