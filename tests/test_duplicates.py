"""Tests for helpers.duplicates: perceptual hashes, Hamming distances, near-duplicate search, leakage report."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance

from helpers import duplicates as dup

THRESHOLD = dup._DEFAULT_MAX_DISTANCE


def photo(seed: int, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A photo-like test image: smooth random colour fields plus a few random shapes (seeded)."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (5, 6, 3)).astype(np.uint8)
    im = Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(im)
    w, h = size
    for _ in range(4):
        x, y = int(rng.uniform(0, w * 0.8)), int(rng.uniform(0, h * 0.8))
        box = (x, y, x + int(rng.uniform(10, w / 3)), y + int(rng.uniform(10, h / 3)))
        draw.ellipse(box, fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    return im


def jpeg(im: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    im.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


COPIES = {
    "resized to 60%": lambda im: im.resize((im.width * 3 // 5, im.height * 3 // 5), Image.Resampling.BILINEAR),
    "enlarged to 224x224": lambda im: im.resize((224, 224), Image.Resampling.BICUBIC),
    "JPEG quality 50": lambda im: jpeg(im, 50),
    "brightened 10%": lambda im: ImageEnhance.Brightness(im).enhance(1.1),
    "resized, JPEG 50 and brightened": lambda im: jpeg(ImageEnhance.Brightness(im.resize((100, 75))).enhance(1.1), 50),
}


def write(folder, name, im):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, quality=95)
    return path


# --- hashes ---------------------------------------------------------------------------------------


def test_hashes_are_deterministic_and_64_bit(tmp_path):
    paths = [write(tmp_path, f"{i}.jpg", photo(i)) for i in range(20)]
    first = dup.image_hashes(paths, workers=1)
    again = dup.image_hashes(paths, workers=4)
    assert first.dtype == np.uint64 and first.shape == (20,)
    np.testing.assert_array_equal(first, again)
    assert [dup.hash_image(p) for p in paths] == first.tolist()
    assert len(set(first.tolist())) == 20


def test_a_pil_image_and_its_lossless_file_hash_the_same(tmp_path):
    im = photo(3)
    path = tmp_path / "a.png"
    im.save(path)
    for method in dup._METHODS:
        assert dup.hash_image(im, method=method) == dup.hash_image(path, method=method)


def test_bit_meaning_of_dhash_and_ahash():
    ramp = np.tile(np.linspace(0, 255, 90).astype(np.uint8), (80, 1))  # brighter to the right
    assert dup.hash_image(Image.fromarray(ramp)) == 2**64 - 1  # every right neighbour is brighter
    assert dup.hash_image(Image.fromarray(ramp[:, ::-1].copy())) == 0
    halves = np.zeros((80, 80), dtype=np.uint8)
    halves[:, 40:] = 255  # dark left half, bright right half: each row 00001111
    assert dup.hash_image(Image.fromarray(halves), method="ahash") == 0x0F0F0F0F0F0F0F0F
    assert dup.hash_image(Image.fromarray(ramp), hash_size=4) == 2**16 - 1  # 16 bits


def test_variants_hold_the_unchanged_hash_first(tmp_path):
    paths = [write(tmp_path, f"{i}.jpg", photo(i)) for i in range(3)]
    plain = dup.image_hashes(paths)
    variants = dup.image_hashes(paths, variants=True)
    assert variants.shape == (3, len(dup._VARIANTS))
    np.testing.assert_array_equal(variants[:, 0], plain)


def test_invalid_arguments_and_bad_files(tmp_path):
    with pytest.raises(ValueError, match="hash_size"):
        dup.hash_image(photo(0), hash_size=9)
    with pytest.raises(ValueError, match="method"):
        dup.hash_image(photo(0), method="phash")
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="broken.jpg"):
        dup.image_hashes([bad])
    assert dup.image_hashes([]).shape == (0,)
    assert dup.image_hashes([], variants=True).shape == (0, len(dup._VARIANTS))


# --- distances ------------------------------------------------------------------------------------


def test_popcount_and_hamming_known_values(monkeypatch):
    values = np.array([0, 1, 0b1011, 2**63, 2**64 - 1, 0x0F0F0F0F0F0F0F0F], dtype=np.uint64)
    expected = [bin(int(v)).count("1") for v in values]
    assert dup._popcount(values).tolist() == expected
    monkeypatch.delattr(np, "bitwise_count", raising=False)  # the fallback for NumPy < 2
    assert dup._popcount(values).tolist() == expected
    assert dup._popcount(values.reshape(2, 3)).shape == (2, 3)
    assert int(dup.hamming(0b1011, 0b0001)) == 2
    assert int(dup.hamming(0, 2**64 - 1)) == 64


@pytest.mark.parametrize("method", dup._METHODS)
@pytest.mark.parametrize("copy", list(COPIES))
def test_edited_copies_are_near_duplicates(copy, method):
    for seed in range(5):
        original = photo(seed)
        distance = int(dup.hamming(dup.hash_image(original, method=method),
                                   dup.hash_image(COPIES[copy](original), method=method)))
        assert distance <= THRESHOLD, f"{copy} of image {seed}: {distance} bits apart"


@pytest.mark.parametrize("method", dup._METHODS)
def test_unrelated_images_are_not_near_duplicates(method):
    hashes = np.array([dup.hash_image(photo(seed), method=method) for seed in range(100, 130)], dtype=np.uint64)
    assert dup.near_duplicates(hashes, hashes, exclude_self=True) == []
    _, nearest = dup.nearest(hashes, hashes, exclude_self=True)
    assert nearest.min() > THRESHOLD + 2


def test_rotated_and_mirrored_copies_need_variants():
    original = photo(7)
    copies = [original.transpose(t) for t in dup._VARIANTS[1:]]
    reference = np.array([dup.hash_image(original)], dtype=np.uint64)
    plain = np.array([dup.hash_image(c) for c in copies], dtype=np.uint64)
    with_variants = np.stack([dup._hash_variants(c, 8, "dhash", dup._VARIANTS) for c in copies])
    _, d_plain = dup.nearest(plain, reference)
    _, d_variants = dup.nearest(with_variants, reference)
    assert (d_plain > THRESHOLD).all()  # a plain hash does not see a rotated or mirrored copy ...
    assert (d_variants <= 2).all()  # ... the 8 variants do (up to rounding in the resampling)


# --- near_duplicates and nearest -------------------------------------------------------------------


def test_threshold_is_inclusive():
    reference = np.array([0b0, 0b1111, 2**64 - 1], dtype=np.uint64)
    query = np.array([0b0111], dtype=np.uint64)  # 3 bits from 0, 1 bit from 0b1111, 61 from all ones
    assert dup.near_duplicates(query, reference, max_distance=0) == []
    assert dup.near_duplicates(query, reference, max_distance=1) == [(0, 1, 1)]
    assert dup.near_duplicates(query, reference, max_distance=3) == [(0, 1, 1), (0, 0, 3)]
    assert len(dup.near_duplicates(query, reference, max_distance=64)) == 3
    with pytest.raises(ValueError):
        dup.near_duplicates(query, reference, max_distance=-1)


def test_exclude_self_and_empty_reference():
    hashes = np.array([5, 5, 1 << 40], dtype=np.uint64)
    assert (0, 0, 0) in dup.near_duplicates(hashes, hashes, max_distance=0)
    assert dup.near_duplicates(hashes, hashes, max_distance=0, exclude_self=True) == [(0, 1, 0), (1, 0, 0)]
    index, distance = dup.nearest(hashes, hashes, exclude_self=True)
    assert index.tolist()[:2] == [1, 0] and distance.tolist()[:2] == [0, 0]
    index, distance = dup.nearest(hashes, np.array([], dtype=np.uint64))
    assert index.tolist() == [-1, -1, -1] and distance.tolist() == [255, 255, 255]
    assert dup.near_duplicates(hashes, np.array([], dtype=np.uint64)) == []


def test_blocks_give_the_same_answer_as_brute_force(monkeypatch):
    rng = np.random.default_rng(0)
    query = rng.integers(0, 2**63, (37, 8), dtype=np.uint64)
    reference = rng.integers(0, 2**63, 53, dtype=np.uint64)
    reference[:5] = query[:5, 3] ^ np.uint64(0b101)  # five planted twins, 2 bits apart
    brute = np.array([[min(bin(int(q) ^ int(r)).count("1") for q in row) for r in reference] for row in query])
    expected = sorted((i, j, int(brute[i, j])) for i, j in zip(*np.nonzero(brute <= 20), strict=True))
    expected.sort(key=lambda p: (p[0], p[2], p[1]))
    monkeypatch.setattr(dup, "_BLOCK_ELEMENTS", 1000)  # many small blocks
    assert dup.near_duplicates(query, reference, max_distance=20) == expected
    index, distance = dup.nearest(query, reference)
    np.testing.assert_array_equal(distance, brute.min(axis=1))
    np.testing.assert_array_equal(brute[np.arange(37), index], brute.min(axis=1))
    assert [p[:2] for p in dup.near_duplicates(query, reference, max_distance=2)] == [(i, i) for i in range(5)]


# --- leakage_report on a folder dataset -------------------------------------------------------------


@pytest.fixture
def leaky_dataset(tmp_path):
    """train: 6 images; val: 1 copy of train[1] + 2 new; test: copies of train[0] and val[2], 1 rotated copy, 2 new."""
    originals = [photo(seed) for seed in range(20)]
    files = {"train": [write(tmp_path, f"train/{i}.jpg", originals[i]) for i in range(6)]}
    files["val"] = [write(tmp_path, "val/0.jpg", jpeg(originals[1].resize((120, 90)), 50)),
                    write(tmp_path, "val/1.jpg", originals[10]),
                    write(tmp_path, "val/2.jpg", originals[11])]
    files["test"] = [write(tmp_path, "test/0.jpg", originals[12]),
                     write(tmp_path, "test/1.jpg", ImageEnhance.Brightness(originals[0]).enhance(1.1)),
                     write(tmp_path, "test/2.jpg", originals[13]),
                     write(tmp_path, "test/3.jpg", jpeg(originals[11], 50)),
                     write(tmp_path, "test/4.jpg", originals[4].transpose(Image.Transpose.ROTATE_90))]
    return files


def test_leakage_report_finds_the_planted_twins(leaky_dataset):
    report = dup.leakage_report(leaky_dataset)
    assert report["images"] == {"train": 6, "val": 3, "test": 5}
    assert report["within"] == {"train": 0, "val": 0, "test": 0}
    assert report["across"] == {"val": {"train": 1}, "test": {"train": 2, "val": 1}}
    assert report["leaky"] == {"val": [0], "test": [1, 3, 4]}
    nearest = report["nearest"]["test"]
    assert list(nearest["split"][[1, 3, 4]]) == ["train", "val", "train"]
    assert nearest["index"][[1, 3, 4]].tolist() == [0, 2, 4]
    assert (nearest["distance"][[0, 2]] > THRESHOLD).all()
    assert report["settings"]["bits"] == 64

    table = dup.leakage_table(report)
    assert list(table.index) == ["train", "val", "test"]
    assert table.loc["test", "twin in an earlier split"] == 3
    assert table.loc["test", "share"] == 0.6
    assert table.loc["val", "twin in train"] == 1


def test_leakage_report_without_variants_misses_the_rotated_copy(leaky_dataset):
    report = dup.leakage_report(leaky_dataset, variants=False)
    assert report["leaky"]["test"] == [1, 3]
    hashes = {s: dup.image_hashes(f) for s, f in leaky_dataset.items()}
    assert dup.leakage_report(leaky_dataset, variants=False, hashes=hashes)["leaky"] == report["leaky"]


def test_within_split_twins_are_counted(tmp_path):
    a, b = photo(1), photo(2)
    files = {"train": [write(tmp_path, "t/0.jpg", a), write(tmp_path, "t/1.jpg", jpeg(a, 50)),
                       write(tmp_path, "t/2.jpg", b)]}
    report = dup.leakage_report(files)
    assert report["within"] == {"train": 2}
    assert report["leaky"] == {} and report["across"] == {}


def test_find_images(tmp_path):
    write(tmp_path, "b/2.JPG", photo(0))
    write(tmp_path, "a/1.png", photo(1))
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    (tmp_path / "a" / ".hidden.jpg").write_bytes(b"")
    assert [p.relative_to(tmp_path).as_posix() for p in dup._find_images(tmp_path)] == ["a/1.png", "b/2.JPG"]


def test_thumbnail_and_bits_match_the_hash():
    im = photo(5)
    for method, shape in (("dhash", (8, 9)), ("ahash", (8, 8))):
        small = dup.thumbnail(im, method=method)
        bits = dup.hash_bits(im, method=method)
        assert small.shape == shape and small.dtype == np.uint8
        assert bits.shape == (8, 8) and bits.dtype == bool
        assert int("".join("1" if b else "0" for b in bits.ravel()), 2) == dup.hash_image(im, method=method)


# --- clusters of near-duplicates across splits -------------------------------------------------------


FAR = [0xFFFFFFFF00000000, 0x00000000FFFFFFFF, 0xAAAAAAAAAAAAAAAA, 0x5555555555555555, 0xF0F0F0F0F0F0F0F0]


def test_clusters_follow_chains_within_and_across_splits():
    """train[0] ~ val[0] ~ test[0] is one cluster although train[0] and test[0] are 9 bits apart."""
    hashes = {"train": np.array([0, FAR[0], FAR[1]], dtype=np.uint64),
              "val": np.array([0b111, FAR[2]], dtype=np.uint64),
              "test": np.array([0b111111111, FAR[3], FAR[1] ^ 0b11, FAR[4]], dtype=np.uint64)}
    assert dup.hamming(hashes["train"][0], hashes["test"][0]) > THRESHOLD
    ids = dup.clusters(hashes)
    assert ids["train"].tolist() == [0, 1, 2]  # numbered in order of first appearance
    assert ids["val"].tolist() == [0, 3]
    assert ids["test"].tolist() == [0, 4, 2, 5]
    assert dup.cluster_leaks(ids) == {"val": [0], "test": [0, 2]}
    table = dup.cluster_table(ids)
    assert table.index.tolist() == ["train + test", "train + val + test"]
    assert table.loc["train + val + test"].tolist() == [1, 1, 1, 1]
    assert table.loc["train + test", "images in test"] == 1 and table.loc["train + test", "clusters"] == 1
    # a stricter threshold breaks the chain
    strict = dup.clusters(hashes, max_distance=2)
    assert strict["val"][0] != strict["train"][0] and dup.cluster_leaks(strict) == {"val": [], "test": [2]}


def test_clusters_without_links_are_singletons_and_the_table_is_empty():
    ids = dup.clusters({"train": np.array(FAR[:3], dtype=np.uint64), "test": np.array(FAR[3:], dtype=np.uint64)})
    assert ids["train"].tolist() == [0, 1, 2] and ids["test"].tolist() == [3, 4]
    assert dup.cluster_leaks(ids) == {"test": []}
    assert dup.cluster_table(ids).empty
    with pytest.raises(ValueError, match="variants"):
        dup.clusters({"train": np.zeros(2, np.uint64), "test": np.zeros((2, 8), np.uint64)})


def test_components_match_a_breadth_first_search():
    rng = np.random.default_rng(0)
    n = 300
    rows, cols = rng.integers(0, n, 260), rng.integers(0, n, 260)  # many small components and long chains
    label = dup._components(n, rows, cols)
    neighbours = {i: set() for i in range(n)}
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        neighbours[r].add(c)
        neighbours[c].add(r)
    expected = np.full(n, -1)
    for start in range(n):
        if expected[start] >= 0:
            continue
        queue, expected[start] = [start], start  # start is the smallest node of its component
        while queue:
            for j in neighbours[queue.pop()]:
                if expected[j] < 0:
                    expected[j] = start
                    queue.append(j)
    np.testing.assert_array_equal(label, expected)


def test_cluster_leaks_on_files_agree_with_the_leakage_report(leaky_dataset):
    hashes = {s: dup.image_hashes(f, variants=True) for s, f in leaky_dataset.items()}
    ids = dup.clusters(hashes)
    assert dup.cluster_leaks(ids) == dup.leakage_report(leaky_dataset, hashes=hashes)["leaky"]
    # train[1]+val[0], train[0]+test[1], val[2]+test[3], train[4]+test[4]
    assert dup.cluster_table(ids)["clusters"].sum() == 4
