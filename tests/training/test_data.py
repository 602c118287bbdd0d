import pytest

from training.data import DatasetError, load_arrays, read_records


def test_reads_the_qata_csv(shared_data):
    train = read_records(shared_data / "qata-cov19", split="train")
    valid = read_records(shared_data / "qata-cov19", split="valid")
    assert (len(train), len(valid)) == (5716, 1429)
    arr = load_arrays(valid[:3])
    assert arr.images.shape == (3, 224, 224) and arr.images.dtype.name == "uint8"
    assert set(arr.masks.ravel().tolist()) <= {0, 1} and arr.masks.sum() > 0
    assert arr.zones.shape == (3, 6)


def test_reads_the_lvit_prompt_csv(shared_data, tmp_path):
    src = shared_data / "qata-cov19"
    (tmp_path / "img").symlink_to(src / "images")
    (tmp_path / "labelcol").symlink_to(src / "masks")
    (tmp_path / "Val_text.csv").write_text(
        "Image,Description\n"
        'covid_1.png,"Bilateral pulmonary infection, two infected areas, all left lung and all '
        'right lung."\n'
        '"covid_100.png","Unilateral pulmonary infection, one infected area, midlle left lung"\n'
    )
    recs = read_records(tmp_path, "Val_text.csv")
    assert [r.split for r in recs] == ["valid", "valid"]
    assert recs[0].zones == (True,) * 6
    assert recs[1].zones == (False, True, False, False, False, False)
    assert load_arrays(recs).images.shape == (2, 224, 224)


def test_missing_csv_and_bad_zones_name_the_file(tmp_path):
    with pytest.raises(DatasetError, match=r"annotations\.csv: no such file"):
        read_records(tmp_path)
    (tmp_path / "annotations.csv").write_text(
        "split,image,mask,description,laterality,infected_zones,zones\n"
        "train,a.png,mask_a.png,x,1,1,1 0 2\n"
    )
    with pytest.raises(DatasetError, match="bad zones"):
        read_records(tmp_path)
