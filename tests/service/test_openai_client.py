"""The official `openai` client pointed at a live minutes-qa server."""

import pytest

from tests.live_server import live_server

pytestmark = pytest.mark.real_model
openai = pytest.importorskip("openai")


@pytest.fixture(scope="module")
def client(real_index_dir, real_embedder):
    from service.api import create_app
    from service.settings import Settings

    with live_server(create_app(Settings(index_dir=real_index_dir), embedder=real_embedder)) as url:
        yield openai.OpenAI(base_url=f"{url}/v1", api_key="not-needed")


def test_models_lists_minutes_qa(client):
    assert [m.id for m in client.models.list().data] == ["minutes-qa"]


def test_plain_question(client):
    r = client.chat.completions.create(
        model="minutes-qa",
        messages=[
            {"role": "system", "content": "You answer from council papers."},
            {"role": "user", "content": "How much will it cost to set up the company?"},
        ],
        temperature=0.2,
    )
    content = r.choices[0].message.content
    assert "£4.6 million" in content
    assert "[1] Children and Families Overview and Scrutiny Panel, 22 March 2018, minute 319 —" in content
    extra = r.model_extra
    assert extra["abstained"] is False
    c = extra["citations"][0]
    assert c["document_id"] == "wcc-cfosp-minutes-2018-03-22" and c["quote"] in content
    assert r.usage.prompt_tokens > 10 and r.usage.completion_tokens > 10
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_follow_up_uses_earlier_messages(client):
    r = client.chat.completions.create(
        model="minutes-qa",
        messages=[
            {"role": "user", "content": "What score did the Wholly Owned Council Company get?"},
            {"role": "assistant", "content": "1810 points (83%)."},
            {"role": "user", "content": "And the independent organisation?"},
        ],
    )
    assert "1515" in r.choices[0].message.content or "70%" in r.choices[0].message.content


def test_streaming(client):
    stream = client.chat.completions.create(
        model="minutes-qa", stream=True, messages=[{"role": "user", "content": "When will the ADM go live?"}]
    )
    pieces, finish = [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    text = "".join(pieces)
    assert "1 April 2019" in text and finish == "stop"


def test_out_of_corpus_is_an_abstention(client):
    r = client.chat.completions.create(
        model="minutes-qa", messages=[{"role": "user", "content": "What was agreed about the county's bus services?"}]
    )
    assert r.model_extra["abstained"] is True
    assert "don't cover" in r.choices[0].message.content
    assert r.model_extra["citations"] == []


def test_malformed_request_gets_an_openai_style_error(client):
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="minutes-qa", messages=[{"role": "assistant", "content": "hi"}])
    assert exc.value.status_code == 400
    assert "user message" in exc.value.body["message"]
