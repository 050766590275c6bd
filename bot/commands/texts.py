"""Every user-visible sentence of the bot, in Korean and English: one table per language, one key per sentence.

Adapters and the command engine take their words from here, so every platform says the same thing the same way
and a translation is one edit. `{cmd}` is the platform's subscribe command (e.g. /subscribe). The paper sections'
own headings and labels live with the sections (digest/sections.py), shared with the Markdown report.
"""

from __future__ import annotations

from typing import Any

from digest.models import LANGS, Lang
from digest.sections import LABELS

KO: dict[str, str] = {
    # answering a command
    "example": "예: {example}",
    "empty": "명령이 비어 있습니다.",
    "too_long": "입력이 너무 깁니다({detail}자). 명령은 {limit}자 이내로 보내 주세요.",
    "control": "입력에 제어 문자가 들어 있습니다. 명령만 다시 입력해 주세요.",
    "unknown_command": "'{detail}'은(는) 모르는 명령입니다. 쓸 수 있는 명령은 아래와 같습니다.",
    "missing_target": "몇 번 논문인지 알려 주세요(1-5 또는 arXiv ID).",
    "two_targets": "논문은 하나만 지정해 주세요('{detail}'이(가) 두 번째입니다).",
    "bad_number": "'{detail}'은(는) 논문 번호로 쓸 수 없습니다. 1, 2, 3 같은 정수를 쓰세요.",
    "unknown_section": "'{detail}'은(는) 모르는 섹션입니다. 섹션: {sections}",
    "bad_date": "'{detail}'은(는) 날짜가 아닙니다. YYYY-MM-DD, today, yesterday, latest 중 하나를 쓰세요.",
    "extra_words": "'{detail}'은(는) 이해하지 못했습니다. 날짜는 하나만 지정할 수 있습니다.",
    "out_of_range": "{date} 다이제스트에는 {first}-{last}번이 있습니다({rank}번은 없습니다).",
    "empty_digest": "{date} 다이제스트에는 논문이 없습니다.",
    "no_digest": "{date} 다이제스트는 없습니다. 가장 가까운 날짜는 {nearest}입니다.",
    "no_digests": "아직 저장된 다이제스트가 없습니다. 아침 다이제스트가 올라온 뒤 다시 물어봐 주세요.",
    "no_digests_in": "{store}에 저장된 다이제스트가 아직 없습니다. digestbot build 로 만들거나, 다른 저장소라면 "
    "DIGEST_DATA_DIR 또는 REDIS_URL 을 확인하세요.",
    "no_paper": "최근 다이제스트에서 arXiv {paper_id} 논문을 찾지 못했습니다.",
    "unavailable": "아카이브를 잠시 사용할 수 없습니다. 잠시 뒤 같은 명령을 다시 보내 주세요.",
    "internal": "답을 만들다가 문제가 생겼습니다. 운영자에게 알렸습니다. 잠시 뒤 다시 시도해 주세요.",
    "button_gone": "이 버튼은 더 이상 쓸 수 없습니다. /digest 로 최신 다이제스트를 보세요.",
    "meta": "{date} 다이제스트 {rank}번",
    "more": "다른 섹션: {others} · /sections",
    "digest_more": "자세히: {commands}",
    "full": "전체 보기",
    # help, sections, start
    "help_title": "paper-digest-bot 사용법",
    "start_title": "📚 매일 아침 AI 논문 Top 5를 한국어 요약과 함께 보내드립니다",
    "start_note": "구독하려면 {cmd}, 바로 보려면 /digest",
    "help_commands": "명령",
    "help_sections": "섹션",
    "help_note": "답은 저장된 다이제스트에서 바로 나옵니다(LLM 호출 없음). 날짜가 없으면 가장 최근 다이제스트입니다.",
    "help_paper": "/paper N [섹션] [날짜] — N번 논문의 한 섹션 (예: /paper 3 risks, /paper 2 리스크 2026-02-13)",
    "help_paper_id": "/paper ARXIV_ID [섹션] — arXiv ID로 찾기 (예: /paper 2602.12205 links)",
    "help_digest": "/digest [날짜|today|yesterday|latest] — 그날의 Top 5 목록",
    "help_sections_line": "/sections — 섹션 이름과 별칭",
    "help_subscribe": "{cmd} [HH:MM] [시간대] [ko|en] [topics 주제, …] — 이 채팅에 매일 아침 다이제스트 받기",
    "help_settings": "{settings} — 구독 설정 보기 · {cmd} off — 구독 해지",
    "help_help": "/help — 이 도움말",
    "sections_title": "/paper N 섹션",
    # subscriptions
    "sub_title": "📬 아침 다이제스트 구독",
    "sub_example": "예: {cmd} 08:30 Asia/Seoul ko · 주제: {cmd} topics RL, audio · 해지: {cmd} off · 확인: {settings}",
    "sub_bad": "'{word}'을(를) 알 수 없습니다. 시각(HH:MM), 시간대(예: Asia/Seoul), 언어(ko|en), 또는 topics 뒤에 주제를 적어 주세요.",
    "sub_subscribed": "이 채팅은 매일 {time} ({tz})에 {lang} 다이제스트를 받습니다.",
    "sub_topics": "주제: {topics} (Top 5 중 이 주제에 맞는 논문만 받습니다. 전체 보기: /digest · 해제: {cmd} topics off)",
    "sub_no_topics": "주제: 전체 (특정 주제만 받으려면 {cmd} topics RL, audio)",
    "sub_unsubscribed": "이 채팅의 아침 다이제스트 구독을 해지했습니다. 다시 받으려면 {cmd}",
    "sub_not_subscribed": "이 채팅은 아침 다이제스트를 구독하고 있지 않습니다. 구독하려면 {cmd}",
    "sub_refused": "이 채팅의 구독 설정은 관리자만 바꿀 수 있습니다. 관리자에게 부탁해 주세요. 지금 설정 보기: {settings}",
    # the morning post
    "post_title": "📚 {date} AI 논문 Top {count}",
    "post_title_empty": "📚 {date} AI 논문",
    "post_title_topics": "📚 {date} AI 논문 Top {total} 중 관심 주제 {count}편",
    "post_generated": "생성 {time} {tz}",
    "post_papers_day": "{day} 목록의 논문입니다",
    "post_actions_title": "오늘의 실무 액션",
    "post_empty": "오늘은 선정된 논문이 없습니다.",
    "post_topics": "🔎 주제: {topics} · 전체 보기: /digest · 주제 해제: {cmd} topics off",
    "post_no_match": "오늘의 논문 {total}편 중 주제({topics})에 맞는 논문이 없습니다.",
    "post_hint_buttons": "각 논문의 버튼으로 섹션을 펼치거나 /paper 3 risks 처럼 물어보세요.",
    "post_hint_thread": "버튼을 누르면 답이 이 스레드에 달립니다 · 각 논문의 전체 브리프는 스레드에 있습니다 · /paper 3 risks",
    "post_brief": "{rank}. {title} — 전체 브리프",
    "post_more": "더 보기",
    # command descriptions, where a platform lists its commands
    "cmd_start": "시작하기와 구독 안내",
    "cmd_help": "사용법과 예시",
    "cmd_paper": "논문 질문, 예: /paper 3 risks",
    "cmd_digest": "다이제스트 보기, 예: /digest 2026-02-13",
    "cmd_sections": "섹션 이름과 별칭",
    "cmd_subscribe": "매일 아침 다이제스트 받기",
    "cmd_unsubscribe": "아침 다이제스트 그만 받기",
    "cmd_settings": "시간·시간대·언어·주제 설정",
}

EN: dict[str, str] = {
    "example": "Example: {example}",
    "empty": "The command is empty.",
    "too_long": "The message is too long ({detail} characters); keep a command under {limit}.",
    "control": "The message contains control characters; type the command again.",
    "unknown_command": "'{detail}' is not a command. These are:",
    "missing_target": "Say which paper: a number (1-5) or an arXiv id.",
    "two_targets": "Name one paper only ('{detail}' is a second one).",
    "bad_number": "'{detail}' is not a paper number; use a whole number such as 1, 2 or 3.",
    "unknown_section": "'{detail}' is not a section. Sections: {sections}",
    "bad_date": "'{detail}' is not a date; use YYYY-MM-DD, today, yesterday or latest.",
    "extra_words": "'{detail}' was not understood; give one date at most.",
    "out_of_range": "The {date} digest has papers {first}-{last} (there is no {rank}).",
    "empty_digest": "The {date} digest has no papers.",
    "no_digest": "There is no digest for {date}. The nearest day with one is {nearest}.",
    "no_digests": "No digest is stored yet. Ask again after the morning digest is posted.",
    "no_digests_in": "No digest is stored yet in {store}. Build one with digestbot build, or if the digests are "
    "elsewhere, check DIGEST_DATA_DIR or REDIS_URL.",
    "no_paper": "arXiv {paper_id} is not in any recent digest.",
    "unavailable": "The archive is temporarily unavailable. Send the same command again in a moment.",
    "internal": "Something went wrong while answering; the operator has been told. Try again in a moment.",
    "button_gone": "This button no longer works. Try /digest for the latest digest.",
    "meta": "Digest of {date}, #{rank}",
    "more": "Other sections: {others} · /sections",
    "digest_more": "More: {commands}",
    "full": "Full view",
    "help_title": "How to use paper-digest-bot",
    "start_title": "📚 The top 5 AI papers every morning, briefed",
    "start_note": "Subscribe with {cmd}, or see the latest with /digest",
    "help_commands": "Commands",
    "help_sections": "Sections",
    "help_note": "Answers come straight from the stored digest (no LLM call). Without a date: the latest digest.",
    "help_paper": "/paper N [SECTION] [DATE] — one section of paper N (e.g. /paper 3 risks, /paper 2 dev 2026-02-13)",
    "help_paper_id": "/paper ARXIV_ID [SECTION] — find a paper by its arXiv id (e.g. /paper 2602.12205 links)",
    "help_digest": "/digest [DATE|today|yesterday|latest] — that day's top 5",
    "help_sections_line": "/sections — section names and aliases",
    "help_subscribe": "{cmd} [HH:MM] [TIMEZONE] [ko|en] [topics TOPIC, …] — get the digest here every morning",
    "help_settings": "{settings} — see the subscription · {cmd} off — stop it",
    "help_help": "/help — this help",
    "sections_title": "/paper N SECTION",
    "sub_title": "📬 Morning digest subscription",
    "sub_example": "e.g. {cmd} 08:30 Asia/Seoul en · topics: {cmd} topics RL, audio · stop: {cmd} off · check: {settings}",
    "sub_bad": "'{word}' is not understood. Give a time (HH:MM), a timezone (e.g. Asia/Seoul), a language (ko|en) and/or topics followed by topics.",
    "sub_subscribed": "This chat gets the {lang} digest every day at {time} ({tz}).",
    "sub_topics": "Topics: {topics} (only the top-5 papers matching them; full digest: /digest · clear: {cmd} topics off)",
    "sub_no_topics": "Topics: all (to get only some: {cmd} topics RL, audio)",
    "sub_unsubscribed": "This chat no longer gets the morning digest. To get it again: {cmd}",
    "sub_not_subscribed": "This chat is not subscribed to the morning digest. To subscribe: {cmd}",
    "sub_refused": "Only admins can change this chat's subscription; please ask one. See the current one: {settings}",
    "post_title": "📚 Top {count} AI papers of {date}",
    "post_title_empty": "📚 AI papers of {date}",
    "post_title_topics": "📚 {count} of the top {total} AI papers of {date} match your topics",
    "post_generated": "generated {time} {tz}",
    "post_papers_day": "papers listed on {day}",
    "post_actions_title": "Actions for today",
    "post_empty": "No papers were selected today.",
    "post_topics": "🔎 Topics: {topics} · full digest: /digest · clear topics: {cmd} topics off",
    "post_no_match": "None of today's {total} papers matched your topics ({topics}).",
    "post_hint_buttons": "Open a section with the buttons under each paper, or ask e.g. /paper 3 risks.",
    "post_hint_thread": "Buttons answer in this thread · each paper's full brief is in the thread · /paper 3 risks",
    "post_brief": "{rank}. {title} — full brief",
    "post_more": "More",
    "cmd_start": "Start and how to subscribe",
    "cmd_help": "How to use, with examples",
    "cmd_paper": "Ask about a paper, e.g. /paper 3 risks",
    "cmd_digest": "Show a digest, e.g. /digest 2026-02-13",
    "cmd_sections": "Section names and aliases",
    "cmd_subscribe": "Get the digest every morning",
    "cmd_unsubscribe": "Stop the morning digest",
    "cmd_settings": "Time, timezone, language, topics",
}

TEXTS: dict[Lang, dict[str, str]] = {"ko": KO, "en": EN}
for _lang in LANGS:  # the brief's notices ("written offline", "numbers not in the abstract") come from the sections
    TEXTS[_lang].update({key: LABELS[_lang][key] for key in ("unsupported", "absent")})


def text(lang: Lang, key: str, /, **values: Any) -> str:
    """The sentence `key` in `lang`, with `values` filled in."""
    template = TEXTS[lang][key]
    return template.format(**values) if values else template
