"""The conversation step in front of matching: what a receptionist handles without the knowledge base
(greetings, thanks, goodbyes, "say that again", asking for a person) and how a call's turns read together
(follow-ups, two questions in one turn). Pure reading and the session's stored turns; the desk acts on them."""
