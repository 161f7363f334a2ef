"""Batched augmentation: shapes, seeds, and that crops/flips are what they claim to be."""
import pytest
import torch
import torch.nn.functional as F

from archbench.data.augment import cutout, get_augment, random_affine, random_crop_flip
from archbench.errors import UsageError
from archbench.viz.augment_gallery import augmentation_gallery


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def shifts(padded, h, w):
    """Every (H, W) window of a padded image: (n_windows, C, H, W)."""
    c = padded.shape[0]
    win = padded.unfold(1, h, 1).unfold(2, w, 1)  # (C, dy, dx, H, W)
    return win.permute(1, 2, 0, 3, 4).reshape(-1, c, h, w)


def matches_any(img, candidates):
    return bool((candidates == img).flatten(1).all(1).any())


def test_crop_flip_is_a_shift_of_the_padded_image_or_its_mirror():
    x = torch.randn(64, 3, 8, 8)
    out = random_crop_flip(x, pad=2, generator=gen(), mode="reflect")
    assert out.shape == x.shape
    padded = F.pad(x, (2, 2, 2, 2), mode="reflect")
    n_flipped = 0
    for i in range(len(x)):
        plain = shifts(padded[i], 8, 8)
        mirrored = shifts(padded[i].flip(-1), 8, 8)
        assert matches_any(out[i], plain) or matches_any(out[i], mirrored)
        n_flipped += not matches_any(out[i], plain)
    assert 10 < n_flipped < 54  # about half are mirrored


def test_zero_padding_and_no_pad_means_flip_only():
    x = torch.randn(32, 3, 6, 6)
    out = random_crop_flip(x, pad=0, generator=gen())
    same = (out == x).flatten(1).all(1)
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    assert bool((same | flipped).all()) and 0 < int(flipped.sum()) < 32
    z = random_crop_flip(torch.ones(16, 1, 6, 6), pad=3, generator=gen(), mode="zeros", flip=False)
    assert z.min() == 0 and z.max() == 1  # shifted windows reach into the zero border


def test_same_seed_same_batch_other_seed_other_batch():
    x = torch.randn(16, 3, 16, 16)
    for name in ("basic", "strong"):
        fn = get_augment(name, "natural")
        assert torch.equal(fn(x, gen(1)), fn(x, gen(1)))
        assert not torch.equal(fn(x, gen(1)), fn(x, gen(2)))
    a = random_affine(x[:, :1], generator=gen(3))
    assert torch.equal(a, random_affine(x[:, :1], generator=gen(3)))


def test_digits_are_shifted_but_never_flipped():
    x = torch.randn(200, 1, 10, 10)
    out = get_augment("basic", "digits")(x, gen())
    padded = F.pad(x, (1, 1, 1, 1), mode="replicate")  # pad = 10 // 10
    for i in range(len(x)):
        assert matches_any(out[i], shifts(padded[i], 10, 10))
        assert not matches_any(out[i], shifts(padded[i].flip(-1), 10, 10))
    auto = get_augment("basic")  # 1 channel -> digits
    assert torch.equal(auto(x, gen()), out)


def test_affine_identity_and_real_motion():
    x = torch.rand(8, 1, 28, 28)
    same = random_affine(x, degrees=0, translate=0, perspective=0, generator=gen())
    assert torch.allclose(same, x, atol=1e-5)  # the grid hits pixel centres exactly
    moved = random_affine(x, generator=gen())
    assert moved.shape == x.shape and not torch.allclose(moved, x, atol=1e-2)
    # bilinear sampling with a background fill never leaves the image's range
    rot = random_affine(x, degrees=90, translate=0.2, perspective=0.5, p_perspective=1.0, generator=gen())
    assert float(rot.min()) >= float(x.min()) - 1e-5 and float(rot.max()) <= float(x.max()) + 1e-5


def test_affine_translation_moves_content_and_fills_with_background():
    x = torch.full((4, 1, 20, 20), -1.0)
    x[:, :, 8:12, 8:12] = 3.0  # a bright square on a dark background
    out = random_affine(x, degrees=0, translate=0.2, perspective=0, generator=gen(5))
    assert out.min() >= -1.0 - 1e-5  # uncovered pixels take the background, not 0
    com_in = (x > 0).float().nonzero()[:, 2:].float().mean(0)
    moved = [((out[i, 0] > 1).nonzero().float().mean(0) - com_in).abs().max() for i in range(4)]
    assert max(moved) > 0.5


def test_cutout_blanks_one_square():
    x = torch.ones(50, 3, 16, 16)
    out = cutout(x, 8, generator=gen())
    holes = (out == 0).all(1)  # all channels
    area = holes.flatten(1).sum(1)
    assert bool((area <= 64).all()) and bool((area > 0).all())
    assert torch.equal((out == 0), holes.unsqueeze(1).expand_as(out))


def test_get_augment_names():
    assert get_augment("none", "natural") is None
    with pytest.raises(UsageError, match="choose from"):
        get_augment("heavy", "natural")
    out = get_augment("strong", "digits")(torch.randn(4, 1, 28, 28), gen())
    assert out.shape == (4, 1, 28, 28)


def test_gallery_writes_png(tmp_path):
    entry = augmentation_gallery(torch.rand(3, 3, 16, 16), get_augment("strong", "natural"), tmp_path / "aug.png",
                                 n=4, generator=gen())
    assert (tmp_path / "aug.png").stat().st_size > 1000
    assert entry["file"] == "aug.png" and entry["title"] and entry["caption"]


def test_perspective_pulls_corners_inward_like_torchvision():
    x = torch.ones(16, 1, 24, 24)
    out = random_affine(x, degrees=0, translate=0, perspective=0.4, p_perspective=1.0, generator=gen(), fill=0.0)
    assert torch.allclose(out[:, :, 8:16, 8:16], torch.ones(16, 1, 8, 8), atol=1e-5)  # the middle stays
    border = torch.cat([out[:, 0, 0, :], out[:, 0, -1, :], out[:, 0, :, 0], out[:, 0, :, -1]], 1)
    assert bool((border.min(1).values < 0.5).all())  # every image shrank: background shows at its edge
    none = random_affine(x, degrees=0, translate=0, perspective=0.4, p_perspective=0.0, generator=gen(), fill=0.0)
    assert torch.allclose(none, x, atol=1e-5)
