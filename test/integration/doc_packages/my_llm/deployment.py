"""The `my-llm` of docs/Workflows.md for test_docs_run.py: streams the words of its answer, then returns it whole."""


class Deployment:
    def __init__(self, base_directory, context):
        pass

    def request(self, data, context):
        answer = f"{data['prompt']}, you said."
        for word in answer.split(" "):
            context["streaming_update"](word + " ")
        return {"answer": answer}
