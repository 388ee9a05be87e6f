from helpers import course


def test_links_are_built_from_one_repository():
    nb = "02_cnn_from_scratch.ipynb"
    assert course.colab_url(nb) == f"https://colab.research.google.com/github/{course._REPO}/blob/main/notebooks/{nb}"
    assert course._kaggle_url(nb).endswith(f"github.com/{course._REPO}/blob/main/notebooks/{nb}")
    badges = course.badges(nb)
    assert course.colab_url(nb) in badges and course._kaggle_url(nb) in badges
    assert f"git+https://github.com/{course._REPO}@main" == course.INSTALL_SPEC
