"""Texts for the development corpus: human answers and machine greetings.

Pools are split in halves by :func:`split_pool` so that the held-out test split
hears sentences the train split never saw.
"""

from __future__ import annotations

NAMES = ["Anna", "John Smith", "Mark", "Kowalski", "Maria Nowak", "Peter", "Sarah Jones", "Tom"]
COMPANIES = ["Acme Plumbing", "Northwind Travel", "City Dental", "Bright Insurance"]

HUMAN_FIRST = {
    "en": [
        "Hello?",
        "Hello.",
        "Yes?",
        "Yeah, hello?",
        "Hi.",
        "Hello, who's this?",
        "Yes, Kowalski speaking.",
        "Hi, this is Anna.",
        "Good morning, Smith residence.",
        "Speaking.",
        "Hello, Mark here.",
        "Yes, hello?",
        "Hey.",
        "Hello, John speaking.",
        "Hi there.",
        "Good afternoon.",
        "Yep?",
        "Hello, yes?",
        "Nowak.",
        "Hello, Peter here.",
    ],
    "pl": [
        "Halo?",
        "Słucham?",
        "Tak, Kowalski, słucham.",
        "Dzień dobry.",
        "Halo, słucham.",
        "Tak?",
        "Nowak, słucham.",
        "Halo, kto mówi?",
        "Słucham, Anna.",
        "No halo?",
    ],
}
HUMAN_SECOND = {
    "en": ["Hello?", "Is anyone there?", "Hello, can you hear me?", "Hello? Who is it?"],
    "pl": ["Halo?", "Halo, jest tam ktoś?", "Słucham?", "Halo, nie słychać."],
}

MACHINE_OPEN = {
    "en": [
        "Hi, you've reached {name}.",
        "Hello, this is {name}.",
        "You have reached the voicemail of {name}.",
        "Thank you for calling {company}.",
        "Hi, it's {name}.",
        "The person you are calling is not available.",
        "Hello, you have reached {company}.",
        "Hey, this is {name}'s phone.",
    ],
    "pl": [
        "Dzień dobry, tu poczta głosowa {name}.",
        "Witamy w firmie {company}.",
        "Abonent jest chwilowo niedostępny.",
        "Cześć, tu {name}.",
    ],
}
MACHINE_MIDDLE = {
    "en": [
        "I can't take your call right now.",
        "I'm not available at the moment.",
        "Our office is currently closed.",
        "Sorry I missed your call.",
        "Our business hours are Monday to Friday, nine to five.",
        "I am away from my desk.",
        "Please leave your name, number and a short message.",
        "I'll get back to you as soon as I can.",
        "All our agents are busy.",
        "If this is urgent, please call my mobile.",
    ],
    "pl": [
        "Nie mogę teraz odebrać telefonu.",
        "Oddzwonię najszybciej jak to możliwe.",
        "Biuro jest czynne od poniedziałku do piątku.",
        "Proszę zostawić swoje imię i numer.",
    ],
}
MACHINE_CLOSE = {
    "en": [
        "Please leave a message after the tone.",
        "Leave a message after the beep.",
        "Thank you, and have a great day.",
        "Bye for now.",
        "Please record your message after the tone. When you are finished, hang up.",
        "Talk to you soon.",
    ],
    "pl": ["Proszę zostawić wiadomość po sygnale.", "Dziękuję i do usłyszenia."],
}
MACHINE_SHORT = {
    "en": [
        "Leave a message.",
        "Please leave a message after the tone.",
        "Not available, leave a message.",
        "Leave your message now.",
    ],
    "pl": ["Zostaw wiadomość.", "Proszę zostawić wiadomość."],
}
CARRIER = {
    "en": [
        "The number you have dialed is not in service. Please check the number and try again.",
        "We're sorry, your call cannot be completed as dialed.",
        "The subscriber cannot be reached at the moment. Please try again later.",
    ],
    "pl": ["Wybrany numer jest nieosiągalny. Spróbuj ponownie później."],
}
BABBLE = [
    "And then we went down to the market to buy some bread and cheese.",
    "The weather tomorrow will be cloudy with a chance of rain in the north.",
    "I told him it was a bad idea but he never listens to anyone.",
    "Breaking news tonight, the council has approved the new budget.",
    "Did you see the match yesterday? It was absolutely incredible.",
    "Put the kettle on, would you, I'll be there in a minute.",
    "Stocks closed higher today after a volatile session on the markets.",
    "She said she would call back after lunch, but she never did.",
]


def split_pool(pool: list[str], split: str) -> list[str]:
    """Even-indexed items for train/dev, odd-indexed for test (pools of one stay shared)."""
    if len(pool) < 2:
        return pool
    return pool[1::2] if split == "test" else pool[0::2]


def texts(table: dict[str, list[str]], lang: str, split: str) -> list[str]:
    """The split's half of ``table`` for ``lang`` (English when the language is missing)."""
    return split_pool(table.get(lang[:2], table["en"]), split)
