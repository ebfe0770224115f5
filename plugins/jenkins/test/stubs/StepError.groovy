/** What hudson.AbortException is to error(): ends the step with a message, no stack trace. */
class StepError extends RuntimeException {
    StepError(String message) { super(message) }
}
