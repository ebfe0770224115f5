/** currentBuild: `result` can only get worse, as in Jenkins. */
class BuildStub {
    private static final List ORDER = ['SUCCESS', 'UNSTABLE', 'FAILURE', 'NOT_BUILT', 'ABORTED']
    String result

    void setResult(String value) {
        if (!(value in ORDER)) { throw new IllegalArgumentException("not a build result: ${value}") }
        if (result == null || ORDER.indexOf(value) > ORDER.indexOf(result)) { result = value }
    }
}
