"""The restyling model's training faces (models/faces.py): which faces train it, the drafts in near
faces, and the pack that carries them to a machine without the font packages."""

from __future__ import annotations

import numpy as np
import pytest

from models.faces import TrainingFaces, judged, nearest_faces
from tools.fonts import FontRegistry, packaged_font, render_text


@pytest.fixture(scope="module")
def training(registry):
    # The library's faces and their neighbours, from the session's registry (its index is loaded once).
    index = registry.library
    core = {f.name for f in registry.faces}
    words, validation = registry.select(held_out=False), registry.select(held_out=True)
    library = [f for f in index.faces if f.name not in core and not judged(f)]
    names = [f.name for f in words + validation + library[:200]]
    heights = {f.name: [float(v) for v in index.heights[i]] for i, f in enumerate(index.faces)}
    return TrainingFaces(registry, words, library, validation, nearest_faces(index, names), heights)


def test_no_face_the_suites_judge_trains_the_model(training):
    """The unseen suite's packaged faces and the validation faces are judged on: none of them may be
    a training word's face or a draft's (a model trained on them would be measured on what it saw)."""
    from agent.evals.unseen import UNSEEN_FACES
    from tools.library import faces_in

    for where, file_name in UNSEEN_FACES:
        for face in faces_in(packaged_font(where, file_name)):
            assert judged(face), face
    trained = {f.name for f in training.words + training.library} | {n for ns in training.neighbours.values() for n in ns}
    registry_names = {f.name for f in training.words}
    assert not any(judged(training.registry.by_name[n]) for n in trained - registry_names)
    assert not trained & {f.name for f in training.validation}


def test_a_neighbour_draft_is_another_near_face_at_the_glyphs_height(training):
    """p_neighbour_draft: the draft is in one of the word face's nearest other faces (never the face
    itself), sized so that its glyph is as tall as the true one."""
    from models.data import _draft_face, make_scene
    from models.inputs import DataConfig

    cfg = DataConfig(p_neighbour_draft=1.0, draft_size_jitter=0.0)
    rng = np.random.default_rng(3)
    for _ in range(40):
        scene = make_scene(rng, training.registry, training.words, cfg)
        face, size, _, near = _draft_face(rng, training, scene, cfg)
        assert near and face in training.neighbours[scene.face] and face != scene.face
        char = scene.new_text[scene.index]
        drawn = render_text(training.registry.font(face, size), char, (4 * size, 4 * size), (size, 2 * size), [0.0])
        box = drawn.boxes[0]
        true_height = scene.new_box[3] - scene.new_box[1]
        assert abs((box[3] - box[1]) - true_height) <= max(2, 0.12 * true_height), (char, face, box, scene.new_box)


def test_the_pack_draws_what_the_installed_faces_draw(training, tmp_path):
    """A packed face (its file subset to the training characters) draws the same pixels as the
    installed one, a variable font's named instance included, and the pack keeps the run's lists."""
    variable = next(f for f in training.library if f.variation is not None)
    small = TrainingFaces(training.registry, training.words[:1], [variable], training.validation[:1],
                          {variable.name: training.neighbours[training.words[0].name][:1]}, training.heights)
    size = small.write_pack(tmp_path)
    assert 0 < size < 2_000_000
    packed = TrainingFaces.from_pack(tmp_path)
    assert [f.name for f in packed.library] == [variable.name] and packed.neighbours == small.neighbours
    for face in (training.words[0], variable):
        for registry in (training.registry, packed.registry):
            assert isinstance(registry, FontRegistry)
        ours = render_text(training.registry.font(face.name, 30), "Rag5", (120, 50), (4, 38), None).alpha
        theirs = render_text(packed.registry.font(face.name, 30), "Rag5", (120, 50), (4, 38), None).alpha
        assert ours.sum() > 50 and np.abs(ours - theirs).max() < 1e-6, face.name
