/** The exit-code contract CI adapters and users script against. */
export const EXIT_OK = 0;
/** Reserved for a failed policy gate. */
export const EXIT_POLICY_FAILED = 1;
export const EXIT_ERROR = 2;
