"""Jupyter protocol conformance of the resnet-ts kernel (jupyter_kernel_test, Debian's
python3-jupyter-kernel-test), against the installed `resnet-ts` kernelspec.

Run by test/tools/kernel/conformance.test.ts (npm test); by hand, against the installed kernelspec:
    cd notebooks && /usr/bin/python3 ../test/tools/kernel/conformance.py -v
"""
import os
import unittest

import jupyter_kernel_test


class ResnetTsKernelTests(jupyter_kernel_test.KernelTests):
    # The test runner points this at a kernelspec of the checkout under test.
    kernel_name = os.environ.get("RESNET_TS_KERNEL_NAME", "resnet-ts")
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("oops")'

    # tslab's completer (TypeScript's language service) on a global object's members.
    completion_samples = [{"text": "Math.ma", "matches": {"max"}}]

    complete_code_samples = ["1 + 1", "const a = 1;", "function f() {\n  return 1;\n}"]
    incomplete_code_samples = ["function f() {", "const b = [1,"]

    code_generate_error = 'throw new Error("boom")'

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "'ab' + 'c'", "result": "'abc'"},
        {"code": "await Promise.resolve(5)", "result": "5"},
    ]

    code_display_data = [
        {
            "code": 'import * as tslab from "tslab"; tslab.display.html("<b>bold</b>")',
            "mime": "text/html",
        },
    ]

    code_inspect_sample = "Math.max"

    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "*Promise*"

    def test_resnet_ts_error_content(self):
        """An error carries ename/evalue/traceback in both the reply and the iopub error message."""
        self.flush_channels()
        reply, output_msgs = self.execute_helper(code='throw new RangeError("out of range")')
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual(reply["content"]["ename"], "RangeError")
        self.assertEqual(reply["content"]["evalue"], "out of range")
        errors = [m for m in output_msgs if m["msg_type"] == "error"]
        self.assertEqual(len(errors), 1)
        self.assertEqual(errors[0]["content"]["ename"], "RangeError")
        self.assertTrue(errors[0]["content"]["traceback"])

    def test_resnet_ts_result_not_printed_twice(self):
        self.flush_channels()
        reply, output_msgs = self.execute_helper(code="const x = 2; x * 21")
        self.assertEqual(reply["content"]["status"], "ok")
        results = [m for m in output_msgs if m["msg_type"] == "execute_result"]
        streams = [m for m in output_msgs if m["msg_type"] == "stream"]
        self.assertEqual(len(results), 1)
        self.assertEqual(results[0]["content"]["data"]["text/plain"], "42")
        self.assertEqual(results[0]["content"]["execution_count"], reply["content"]["execution_count"])
        self.assertEqual(streams, [])


if __name__ == "__main__":
    unittest.main()
