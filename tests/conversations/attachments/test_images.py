"""conversations.attachments.images: type by content, bombs refused undecoded, orientation
applied, metadata dropped, downscaled and re-encoded."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from conversations.attachments.images import prepare_image
from conversations.attachments.refusal import AttachmentRefused
from tests.conversations.attachments import files


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_large_screenshot_is_downscaled_to_the_limit_on_its_long_side_and_stays_png():
    prepared = prepare_image("shot.png", files.png(4000, 3000), 1568)

    assert (prepared.width, prepared.height) == (1568, 1176)
    assert prepared.content_type == "image/png"
    assert opened(prepared.data).size == (1568, 1176)


def test_a_small_image_keeps_its_size():
    prepared = prepare_image("icon.png", files.png(64, 48), 1568)
    assert (prepared.width, prepared.height) == (64, 48)


def test_a_photo_is_turned_upright_and_loses_its_exif():
    # Orientation 6: the camera was turned; the picture is shown rotated 90 degrees.
    prepared = prepare_image("photo.jpg", files.jpeg(100, 50, orientation=6), 1568)

    image = opened(prepared.data)
    assert image.size == (50, 100)
    assert prepared.content_type == "image/jpeg"
    assert not image.getexif()
    assert "exif" not in image.info


def test_a_gif_gives_its_first_frame_as_a_png():
    prepared = prepare_image("anim.gif", files.gif(frames=3), 1568)

    image = opened(prepared.data)
    assert image.format == "PNG"
    assert getattr(image, "n_frames", 1) == 1


def test_a_webp_becomes_a_jpeg_every_vision_model_reads():
    prepared = prepare_image("pic.webp", files.webp(), 1568)
    assert opened(prepared.data).format == "JPEG"


def test_transparency_is_kept_in_a_png():
    prepared = prepare_image("logo.png", files.png(32, 32, (0, 0, 0, 0), mode="RGBA"), 1568)
    assert opened(prepared.data).mode == "RGBA"


def test_a_20000_by_20000_png_bomb_is_refused_in_a_sentence():
    with pytest.raises(AttachmentRefused) as refused:
        prepare_image("bomb.png", files.png_bomb(), 1568)
    assert str(refused.value) == (
        "bomb.png is too large an image; the limit is 50 megapixels. "
        "Scale it down and attach it again."
    )


def test_html_is_not_an_image():
    with pytest.raises(AttachmentRefused) as refused:
        prepare_image("cat.png", b"<!doctype html><script>alert(1)</script>", 1568)
    assert str(refused.value) == "cat.png is not a PNG, JPEG, WebP or GIF image."


def test_a_truncated_image_is_refused_as_damaged():
    with pytest.raises(AttachmentRefused) as refused:
        prepare_image("cut.png", files.png(200, 200, "red")[:60], 1568)
    assert "cut.png" in str(refused.value)
