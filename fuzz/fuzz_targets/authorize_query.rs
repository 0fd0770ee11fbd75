//! The authorization request: a query string against a registered app. Must never panic, and an
//! error may be redirected only to the registered URI.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verity_core::authorize::{AppView, Delivery, Params, validate};

fuzz_target!(|data: &[u8]| {
    let registered = vec!["http://127.0.0.1:8090/callback".to_owned()];
    let policies = vec!["military".to_owned(), "profile".to_owned()];
    for public in [false, true] {
        let app = AppView { redirect_uris: &registered, policies: &policies, public };
        let params = Params::from_form(data);
        match validate(&params, Some(&app)) {
            Ok(req) => assert!(registered.contains(&req.redirect_uri)),
            Err(e) => {
                if let Delivery::Redirect { redirect_uri, .. } = e.delivery {
                    assert!(registered.contains(&redirect_uri), "redirected to an unregistered URI");
                }
            }
        }
    }
});
