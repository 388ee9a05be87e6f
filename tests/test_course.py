from helpers import course


def test_links_are_built_from_one_repository():
    nb = "02_cnn_from_scratch.ipynb"
    assert course.colab_url(nb) == f"https://colab.research.google.com/github/{course.REPO}/blob/main/notebooks/{nb}"
    assert course.kaggle_url(nb).endswith(f"github.com/{course.REPO}/blob/main/notebooks/{nb}")
    badges = course.badges(nb)
    assert course.colab_url(nb) in badges and course.kaggle_url(nb) in badges
    assert f"git+https://github.com/{course.REPO}@main" == course.INSTALL_SPEC
